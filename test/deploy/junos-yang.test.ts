/**
 * deploy/junos: the XML proxy sensor modules are valid YANG (checked by yanglint, libyang2-tools)
 * and define exactly the paths and types the MX simulator serves and docs/gnmi.md documents.
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { MxModel } from '../sim/gnmi-mx/model.ts';

const run = promisify(execFile);
const DEPLOY = fileURLToPath(new URL('../../deploy/junos/', import.meta.url));
const STUBS = fileURLToPath(new URL('./yang-stubs/', import.meta.url));

/** `path type` for every leaf of a module's rpc output, from yanglint's tree (list keys as [*]). */
async function leaves(file: string): Promise<string[]> {
  const { stdout } = await run('yanglint', ['-p', STUBS, '-f', 'tree', `${DEPLOY}${file}`]);
  const stack: string[] = [];
  const out: string[] = [];
  for (const line of stdout.split('\n')) {
    const m = /^(\s*)\+--(?:ro|rw|-x)\s+(\S+?)(\*|\?)?(?:\s+\[[^\]]*\])?(?:\s+(\S+))?\s*$/.exec(line);
    if (!m) continue;
    const depth = m[1]!.length;
    while (stack.length && Number(stack.at(-1)!.split('\t')[0]) >= depth) stack.pop();
    const name = m[2]! + (m[3] === '*' ? '[*]' : '');
    stack.push(`${depth}\t${name}`);
    if (m[4]) out.push(`/${stack.map((s) => s.split('\t')[1]).filter((n) => n !== 'output').join('/')} ${m[4]}`);
  }
  return out;
}

test('the modules are valid YANG', async (t) => {
  const files = (await readdir(DEPLOY)).filter((f) => f.endsWith('.yang'));
  t.deepEqual(files.sort(), ['xmlproxyd_amt-statistics.yang', 'xmlproxyd_amt-summary.yang', 'xmlproxyd_amt-tunnel.yang']);
  for (const f of files) {
    const { stderr } = await run('yanglint', ['-p', STUBS, `${DEPLOY}${f}`]);
    t.is(stderr, '', f);
  }
});

test("their leaves are the simulator's AMT paths, with the same types", async (t) => {
  const yang = [...(await leaves('xmlproxyd_amt-summary.yang')), ...(await leaves('xmlproxyd_amt-statistics.yang')), ...(await leaves('xmlproxyd_amt-tunnel.yang'))];
  const model = new MxModel({ tunnels: 1 });
  const served: string[] = [];
  for (const section of model.sections.filter((s) => s.name.startsWith('amt-'))) {
    for (const entry of section.entries(Date.now())) {
      const base = entry.elem.map((e) => (e.key ? `${e.name}[*]` : e.name)).join('/');
      for (const l of entry.leaves) served.push(`/juniper-netconf-get/${base}/${l.rel.join('/')} ${l.type}`);
    }
  }
  const keys = ['/juniper-netconf-get/junos/amt/tunnels/tunnel[*]/gateway string', '/juniper-netconf-get/junos/amt/tunnels/tunnel[*]/port uint16'];
  t.deepEqual(yang.sort(), [...served, ...keys].sort());
});
