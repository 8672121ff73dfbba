'use strict'

module.exports = async (event, context) => {
  return context
    .status(200)
    .headers({ 'Content-Type': 'text/plain' })
    .succeed('Hello from Ferry (node)')
}
