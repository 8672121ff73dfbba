def handle(event, context):
    return {
        "statusCode": 200,
        "body": "Hello from Ferry (python3-http)",
        "headers": {"Content-Type": "text/plain"},
    }
