#!/usr/bin/env bash
# The request body is on stdin; what this prints is the response.
# Request headers are in $Http_<Header_Name>, e.g. $Http_Content_Type.
input=$(cat)
echo "Hello from Ferry (bash), you said: ${input}"
