/** The HTTP API, described for humans and generators: served at /api/v1/openapi.json. */
export function openApiDocument(): unknown {
  const json = (schema: unknown) => ({ content: { 'application/json': { schema } } });
  const error = { description: 'Error, with a message naming the problem', ...json({ $ref: '#/components/schemas/Error' }) };
  const relayName = { name: 'name', in: 'path', required: true, schema: { type: 'string' }, description: 'relay name (mx, gateway, a Traffic Ops host name...)' };
  return {
    openapi: '3.1.0',
    info: {
      title: 'driad API',
      version: '1',
      description: 'Relay health, the reasoning behind DRIAD answers, and operator overrides. Write operations need the admin token (http.adminToken).',
    },
    components: {
      securitySchemes: { admin: { type: 'http', scheme: 'bearer', description: 'http.adminToken, or DRIAD_ADMIN_TOKEN' } },
      schemas: {
        Error: { type: 'object', required: ['error'], properties: { error: { type: 'string' } } },
        State: { type: 'string', enum: ['up', 'degraded', 'down', 'unknown'] },
        Signal: {
          type: 'object',
          required: ['relay', 'source', 'kind', 'value'],
          properties: {
            relay: { type: 'string' },
            source: { type: 'string', description: 'who measured it: gnmi, ipfix, ebpf, prober, ...' },
            kind: { type: 'string', enum: ['state', 'reachable', 'tunnels', 'bandwidthBps', 'rttMs', 'packetsPerSecond', 'discoveriesPerSecond', 'requestsPerSecond'] },
            value: { oneOf: [{ type: 'string', enum: ['up', 'degraded', 'down'] }, { type: 'boolean' }, { type: 'number', minimum: 0 }] },
            at: { type: 'number', description: 'epoch ms; default now' },
            maxAgeMs: { type: 'number', description: 'how long it stays true; default health.defaultMaxAgeMs' },
            intervalMs: { type: 'number', description: 'instead of maxAgeMs, for a periodic source: how often it reports; silence makes the relay unknown within health.silenceIntervals intervals' },
          },
        },
        Relay: {
          type: 'object',
          properties: {
            name: { type: 'string' },
            kind: { type: 'string', enum: ['juniper', 'linux'] },
            origin: { type: 'string', enum: ['config', 'traffic-ops'] },
            ipv4: { type: ['string', 'null'] },
            ipv6: { type: ['string', 'null'] },
            precedence: { type: 'integer' },
            gnmiTarget: { type: ['string', 'null'], description: 'MX only: HOST:PORT of its gNMI server' },
            state: { $ref: '#/components/schemas/State' },
            reason: { type: 'string' },
            stateSource: { type: 'string', enum: ['config', 'admin', 'signals'] },
            since: { type: 'string', format: 'date-time' },
            capacity: { type: 'object', properties: { maxTunnels: { type: ['integer', 'null'] }, linkBps: { type: ['number', 'null'] }, utilization: { type: ['number', 'null'] } } },
            rttMs: { type: ['number', 'null'] },
            signals: { type: 'array', items: { type: 'object', properties: { source: { type: 'string' }, kind: { type: 'string' }, value: {}, at: { type: 'string' }, ageMs: { type: 'number' }, maxAgeMs: { type: 'number' }, intervalMs: { type: ['number', 'null'] }, stale: { type: 'boolean' } } } },
          },
        },
        TraceStep: {
          type: 'object',
          required: ['rule', 'detail'],
          properties: {
            rule: { type: 'string' },
            detail: { type: 'string' },
            removed: { type: 'array', items: { type: 'object', properties: { relay: { type: 'string' }, why: { type: 'string' } } } },
            keys: { type: 'object', additionalProperties: { type: 'string' } },
            order: { type: 'array', items: { type: 'string' } },
          },
        },
      },
    },
    paths: {
      '/api/v1/relays': {
        get: {
          summary: 'Relays: inventory, state and reason, every signal with its age, recent state changes',
          responses: { 200: { description: 'Relays', ...json({ type: 'object', properties: { generation: { type: 'integer' }, relays: { type: 'array', items: { $ref: '#/components/schemas/Relay' } }, transitions: { type: 'array' }, inventory: { type: 'object' } } }) } },
        },
      },
      '/api/v1/explain': {
        get: {
          summary: 'The answer DNS gives right now for a source (and client), and the trace of every rule applied',
          parameters: [
            { name: 'source', in: 'query', required: true, schema: { type: 'string' }, description: 'multicast source address, IPv4 or IPv6' },
            { name: 'client', in: 'query', required: false, schema: { type: 'string' }, description: 'client or resolver address (as EDNS Client Subnet would give it)' },
          ],
          responses: {
            200: { description: 'Answer and trace', ...json({ type: 'object', properties: { source: { type: 'string' }, client: { type: ['string', 'null'] }, name: { type: 'string' }, answer: { type: 'object' }, rules: { type: 'object' }, trace: { type: 'array', items: { $ref: '#/components/schemas/TraceStep' } } } }) },
            400: error,
          },
        },
      },
      '/api/v1/candidates': {
        get: {
          summary: 'The relays DNS names for a source and this client, best first, with measured RTT, loss and capacity headroom (for browser receivers; CORS per doh.corsOrigins)',
          parameters: [
            { name: 'source', in: 'query', required: true, schema: { type: 'string' }, description: 'multicast source address, IPv4 or IPv6' },
            { name: 'client', in: 'query', required: false, schema: { type: 'string' }, description: 'client address; default the caller (after doh.trustedProxies)' },
          ],
          responses: {
            200: { description: 'Ranked candidates', ...json({ type: 'object', properties: { source: { type: 'string' }, client: { type: 'string' }, name: { type: 'string' }, ttl: { type: 'integer' }, candidates: { type: 'array', items: { type: 'object' } }, excluded: { type: 'array' } } }) },
            400: error,
          },
        },
      },
      '/api/v1/relays/{name}/state': {
        put: {
          summary: "Operator override of a relay's state; wins over signals until cleared",
          security: [{ admin: [] }],
          parameters: [relayName],
          requestBody: { required: true, ...json({ type: 'object', required: ['state'], properties: { state: { $ref: '#/components/schemas/State' }, reason: { type: 'string' } } }) },
          responses: { 200: { description: 'New status' }, 400: error, 401: error, 403: error, 404: error },
        },
        delete: {
          summary: 'Clear the operator override; signals decide again',
          security: [{ admin: [] }],
          parameters: [relayName],
          responses: { 200: { description: 'New status' }, 401: error, 403: error, 404: error },
        },
      },
      '/api/v1/signals': {
        post: {
          summary: 'Report health signals (one object or an array), as the collectors do',
          security: [{ admin: [] }],
          requestBody: { required: true, ...json({ oneOf: [{ $ref: '#/components/schemas/Signal' }, { type: 'array', items: { $ref: '#/components/schemas/Signal' } }] }) },
          responses: { 200: { description: 'Accepted', ...json({ type: 'object', properties: { accepted: { type: 'integer' }, generation: { type: 'integer' } } }) }, 400: error, 401: error, 403: error, 404: error },
        },
      },
      '/metrics': { get: { summary: 'Prometheus metrics', responses: { 200: { description: 'text/plain; version=0.0.4' } } } },
      '/healthz': { get: { summary: 'Liveness', responses: { 200: { description: 'ok' } } } },
      '/': { get: { summary: 'Operator page', responses: { 200: { description: 'text/html' } } } },
    },
  };
}
