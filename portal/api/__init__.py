"""The REST API's plumbing shared by the apps' API views, and the portal's own."""
