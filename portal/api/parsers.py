"""The API's JSON parser: a body it cannot read answers 400, however it is built."""

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


class JSONBodyParser(JSONParser):
    """DRF's JSON parser, with JSON nested deeper than Python can read answered 400, not 500."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise ParseError(
                "JSON parse error - the JSON is nested too deeply."
            ) from exc
