#!/usr/bin/env python
"""Django's command-line utility for the campaign portal."""

import sys


def main() -> None:
    from portal.settings import settings_module_choose

    settings_module_choose(server=False)
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
