"""`evotr serve`: an OpenAI-compatible HTTP API (Starlette on uvicorn) over the chat use cases."""
