/**
 * Retained memory of a running driad, through its inspector (node --inspect): a full GC
 * (HeapProfiler.collectGarbage) then the used heap (Runtime.getHeapUsage), in the main thread and
 * in every worker thread (the gNMI sessions run in one), and the process RSS after them.
 * Prints one JSON line: {"mainHeap":N,"workerHeap":N,"workers":N,"rss":N} (bytes).
 *
 *   node bench/gnmi/heap.ts ws://127.0.0.1:9229/<uuid>
 */
const url = process.argv[2];
if (!url?.startsWith('ws://')) throw new Error('usage: heap.ts ws://HOST:PORT/ID (the "Debugger listening on" address)');

const ws = new WebSocket(url);
await new Promise((resolve, reject) => {
  ws.onopen = resolve;
  ws.onerror = () => reject(new Error(`cannot connect to ${url}`));
});

let nextId = 1;
const pending = new Map<number, (msg: any) => void>();
const workerPending = new Map<string, Map<number, (msg: any) => void>>();
const attached: string[] = [];

ws.onmessage = (ev) => {
  const msg = JSON.parse(String(ev.data));
  if (msg.id !== undefined) pending.get(msg.id)?.(msg);
  else if (msg.method === 'NodeWorker.attachedToWorker') attached.push(msg.params.sessionId);
  else if (msg.method === 'NodeWorker.receivedMessageFromWorker') {
    const inner = JSON.parse(msg.params.message);
    if (inner.id !== undefined) workerPending.get(msg.params.sessionId)?.get(inner.id)?.(inner);
  }
};

function call(method: string, params: object = {}): Promise<any> {
  const id = nextId++;
  ws.send(JSON.stringify({ id, method, params }));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${method}: no answer in 60 s`)), 60_000);
    pending.set(id, (msg) => {
      clearTimeout(timer);
      pending.delete(id);
      msg.error ? reject(new Error(`${method}: ${msg.error.message}`)) : resolve(msg.result);
    });
  });
}

function callWorker(sessionId: string, method: string, params: object = {}): Promise<any> {
  const id = nextId++;
  let map = workerPending.get(sessionId);
  if (!map) workerPending.set(sessionId, (map = new Map()));
  const answer = new Promise<any>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker ${method}: no answer in 60 s`)), 60_000);
    map.set(id, (msg) => {
      clearTimeout(timer);
      map.delete(id);
      msg.error ? reject(new Error(`worker ${method}: ${msg.error.message}`)) : resolve(msg.result);
    });
  });
  void call('NodeWorker.sendMessageToWorker', { sessionId, message: JSON.stringify({ id, method, params }) });
  return answer;
}

await call('NodeWorker.enable', { waitForDebuggerOnStart: false });
await new Promise((res) => setTimeout(res, 500)); // attachedToWorker events for the running workers

let workerHeap = 0;
for (const s of attached) {
  // Twice: the first GC can leave garbage that only the second finds (weak references, finalizers).
  await callWorker(s, 'HeapProfiler.collectGarbage');
  await callWorker(s, 'HeapProfiler.collectGarbage');
  workerHeap += (await callWorker(s, 'Runtime.getHeapUsage')).usedSize;
}
await call('HeapProfiler.collectGarbage');
await call('HeapProfiler.collectGarbage');
const mainHeap = (await call('Runtime.getHeapUsage')).usedSize;
const rss = (await call('Runtime.evaluate', { expression: 'process.memoryUsage().rss', returnByValue: true })).result.value;
console.log(JSON.stringify({ mainHeap, workerHeap, workers: attached.length, rss }));
ws.close();
process.exit(0);
