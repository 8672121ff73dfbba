// Ferry node shim: Node's built-in http server on 127.0.0.1 calling
// function/handler.js as (event, context), like OpenFaaS's node18 template
// without Express. Its port is per replica (several replicas share a host
// under Ferry's process runtime): upstream_port, else the port of
// upstream_url, else http_port or PORT, else 3000.
'use strict'

const http = require('http')
const handler = require('./function/handler')

class FunctionContext {
  constructor () {
    this.statusCode = 200
    this.headerValues = {}
    this.result = undefined
    this.error = undefined
  }

  status (code) {
    if (code === undefined) return this.statusCode
    this.statusCode = code
    return this
  }

  headers (values) {
    if (values === undefined) return this.headerValues
    this.headerValues = values
    return this
  }

  succeed (value) {
    this.result = value
    return this
  }

  fail (value) {
    this.statusCode = 500
    this.error = value
    return this
  }
}

function parseBody (raw, contentType) {
  if ((contentType || '').includes('application/json') && raw.length > 0) {
    try { return JSON.parse(raw.toString()) } catch (e) { return raw.toString() }
  }
  return raw.toString()
}

function send (res, code, headers, body) {
  let out = body
  if (out === undefined || out === null) out = ''
  if (typeof out === 'object' && !Buffer.isBuffer(out)) {
    out = JSON.stringify(out)
    if (!Object.keys(headers).some(k => k.toLowerCase() === 'content-type')) {
      headers['Content-Type'] = 'application/json'
    }
  }
  const buf = Buffer.isBuffer(out) ? out : Buffer.from(String(out))
  headers['Content-Length'] = buf.length
  res.writeHead(code, headers)
  res.end(buf)
}

const server = http.createServer((req, res) => {
  const chunks = []
  req.on('data', c => chunks.push(c))
  req.on('end', async () => {
    const url = new URL(req.url, 'http://localhost')
    const event = {
      body: parseBody(Buffer.concat(chunks), req.headers['content-type']),
      headers: req.headers,
      method: req.method,
      query: Object.fromEntries(url.searchParams),
      path: url.pathname
    }
    const ctx = new FunctionContext()
    try {
      const ret = await handler(event, ctx)
      const c = ret instanceof FunctionContext ? ret : ctx
      if (c.error !== undefined) {
        send(res, c.statusCode, {}, String(c.error))
        return
      }
      const body = ret instanceof FunctionContext || ret === undefined ? c.result : ret
      send(res, c.statusCode, { ...c.headerValues }, body)
    } catch (err) {
      console.error(err && err.stack ? err.stack : err) // the function's logs get the stack
      send(res, 500, {}, 'handler error: ' + (err && err.message ? err.message : String(err)) + '\n')
    }
  })
})

function listenPort (fallback) {
  const env = process.env
  if (env.upstream_port) return parseInt(env.upstream_port, 10)
  if (env.upstream_url) {
    try {
      const u = new URL(env.upstream_url)
      if (u.port) return parseInt(u.port, 10)
    } catch (e) {}
  }
  return parseInt(env.http_port || env.PORT || String(fallback), 10)
}

const port = listenPort(3000)
server.listen(port, '127.0.0.1')
