def handle(event, context):
    # event.body is the request body (bytes); event.headers, event.method,
    # event.query and event.path describe the rest of the request.
    said = event.body.decode("utf-8", "replace") if isinstance(event.body, (bytes, bytearray)) else str(event.body or "")
    return {
        "statusCode": 200,
        "body": "Hello from Ferry (python3-http), you said: " + said,
        "headers": {"Content-Type": "text/plain"},
    }
