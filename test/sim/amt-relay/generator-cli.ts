// The generator as a process, for a network namespace (`ip netns exec NS node generator-cli.ts`):
// stdin one JSON object {options, plans} (generator.ts), stdout one JSON object {ledger}.
import { runGateways, type GatewayPlan, type GeneratorOptions } from './generator.ts';

let input = '';
process.stdin.setEncoding('utf8');
for await (const chunk of process.stdin) input += chunk;
const { options, plans } = JSON.parse(input) as { options: GeneratorOptions; plans: GatewayPlan[] };
const { ledger } = await runGateways(plans, { ...options, transcript: false });
process.stdout.write(`${JSON.stringify({ ledger })}\n`);
