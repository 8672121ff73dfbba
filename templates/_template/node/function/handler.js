'use strict'

// event.body is the request body: parsed for application/json, else text.
// event.headers, event.method, event.query and event.path describe the rest.
module.exports = async (event, context) => {
  const said = typeof event.body === 'string' ? event.body : JSON.stringify(event.body)
  return context
    .status(200)
    .headers({ 'Content-Type': 'text/plain' })
    .succeed('Hello from Ferry (node), you said: ' + said)
}
