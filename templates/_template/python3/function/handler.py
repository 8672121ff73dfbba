def handle(req):
    """handle a request to the function
    Args:
        req (str): request body
    """
    return "Hello from Ferry (python3), you said: " + req
