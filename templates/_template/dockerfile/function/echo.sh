#!/bin/sh
# Answers every request with its body.
printf 'Hello from Ferry (dockerfile), you said: %s' "$(cat)"
