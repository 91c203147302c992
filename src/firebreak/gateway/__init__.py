"""The gateway: an OpenAI-compatible proxy that scans, enforces the guard policy, and
reports every call. Build the ASGI app with `firebreak.gateway.app.create_gateway_app`."""
