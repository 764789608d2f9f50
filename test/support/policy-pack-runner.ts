import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { parse } from 'yaml';
import type * as Grpc from '@grpc/grpc-js';
import type * as AnalyzerGrpc from '@pulumi/pulumi/proto/analyzer_grpc_pb';
import type * as Analyzer from '@pulumi/pulumi/proto/analyzer_pb';
import type { EngineResource } from '../../policy/policy-run';

// The engine's side of the Analyzer protocol, from the modules the pack's server uses itself (one
// protobuf runtime: the generated code checks message classes with `instanceof`).
const sdk = createRequire(createRequire(import.meta.url).resolve('@pulumi/pulumi'));
const grpc = sdk('@grpc/grpc-js') as typeof Grpc;
const { AnalyzerClient } = sdk('./proto/analyzer_grpc_pb') as typeof AnalyzerGrpc;
const proto = sdk('./proto/analyzer_pb') as typeof Analyzer;
type StructPb = typeof import('google-protobuf/google/protobuf/struct_pb');
type EmptyPb = typeof import('google-protobuf/google/protobuf/empty_pb');
const { Struct } = sdk('google-protobuf/google/protobuf/struct_pb') as StructPb;
const { Empty } = sdk('google-protobuf/google/protobuf/empty_pb') as EmptyPb;

const levels = ['advisory', 'mandatory', 'disabled', 'remediate'] as const;
export type EnforcementLevel = (typeof levels)[number];

export interface Diagnostic {
  policy: string;
  message: string;
  urn: string;
  level: EnforcementLevel;
}
export interface PolicyInfo {
  name: string;
  enforcementLevel: EnforcementLevel;
  configSchema?: { properties: Record<string, any>; required: string[] };
}
/** A `--policy-pack-config` file's content: per policy, an enforcement level or properties (with one). */
export type PolicyPackConfigFile = Record<string, EnforcementLevel | Record<string, unknown>>;

/** The stack the engine runs a pack for: what `ConfigureStack` and the language host's environment carry. */
export interface StackContext {
  organization: string;
  project: string;
  stack: string;
  /** The stack's configuration as the engine has it (`project:key` → value, objects as JSON). */
  config: Record<string, string>;
  dryRun: boolean;
}

/**
 * Starts a Node.js policy pack as `pulumi preview --policy-pack <dir>` does, and speaks to it as
 * the engine does. The language host (`pulumi-language-nodejs`, `RunPlugin` for an analyzer) runs
 * `node <@pulumi/pulumi/cmd/run-policy-pack, resolved from the pack> <runtime nodeargs> <engine
 * address> <pack dir>` in the pack's folder, with the stack in `PULUMI_NODEJS_*` and its config in
 * `PULUMI_CONFIG`; the pack prints its gRPC port; the host's proxy then forwards `ConfigureStack`.
 */
export async function startPolicyPack(dir: string, stack: StackContext) {
  type Project = { runtime: string | { name: string; options?: Record<string, unknown> } };
  const project = parse(readFileSync(join(dir, 'PulumiPolicy.yaml'), 'utf8')) as Project;
  const options = typeof project.runtime === 'string' ? {} : (project.runtime.options ?? {});
  const runPolicyPack = createRequire(join(dir, 'package.json')).resolve('@pulumi/pulumi/cmd/run-policy-pack');
  const nodeargs = typeof options.nodeargs === 'string' ? options.nodeargs.split(/\s+/).filter(Boolean) : [];
  const env: Record<string, string | undefined> = {
    ...process.env,
    ...(options.typescript !== false && { PULUMI_NODEJS_TYPESCRIPT: 'true' }),
    ...(typeof options.tsconfig === 'string' && { PULUMI_NODEJS_TSCONFIG_PATH: options.tsconfig }),
    PULUMI_NODEJS_ORGANIZATION: stack.organization,
    PULUMI_NODEJS_PROJECT: stack.project,
    PULUMI_NODEJS_STACK: stack.stack,
    PULUMI_NODEJS_DRY_RUN: String(stack.dryRun),
    PULUMI_CONFIG: JSON.stringify(stack.config),
  };
  // Nothing listens there: the pack never calls the engine back (a call would fail the test).
  const engineAddress = '127.0.0.1:1';
  const args = [runPolicyPack, ...nodeargs, engineAddress, dir];
  const child = spawn(process.execPath, args, { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stderr.on('data', (d) => (output += d));
  const port = await new Promise<number>((resolve, reject) => {
    let stdout = '';
    child.stdout.on('data', (d) => {
      stdout += d;
      const line = stdout.match(/^(\d+)\n/);
      if (line) resolve(Number(line[1]));
      else if (stdout.includes('\n')) output += stdout;
    });
    child.on('exit', (code) =>
      reject(new Error(`the policy pack exited (${code}) before it served:\n${output}${stdout}`)),
    );
  });
  const client = new AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  type Unary = (req: unknown, done: (e: Grpc.ServiceError | null, res: unknown) => void) => void;
  const call = <Res>(method: keyof AnalyzerGrpc.IAnalyzerClient, req: unknown) =>
    new Promise<Res>((resolve, reject) =>
      (client[method] as Unary).call(client, req, (e, res) => (e ? reject(e) : resolve(res as Res))),
    );

  const configureStack = new proto.AnalyzerStackConfigureRequest()
    .setStack(stack.stack)
    .setProject(stack.project)
    .setOrganization(stack.organization)
    .setDryRun(stack.dryRun);
  for (const [k, v] of Object.entries(stack.config)) configureStack.getConfigMap().set(k, v);
  await call('configureStack', configureStack);

  const struct = (value: Record<string, unknown>) => Struct.fromJavaScript(JSON.parse(JSON.stringify(value)));
  const options_ = () =>
    new proto.AnalyzerResourceOptions().setCustomtimeouts(new proto.AnalyzerResourceOptions.CustomTimeouts());
  const provider = (p: EngineResource['provider']) =>
    p &&
    new proto.AnalyzerProviderResource().setUrn(p.urn).setType(p.type).setName(p.name).setProperties(struct(p.props));
  // A diagnostic from `Analyze` names no URN: the engine knows which resource it asked about.
  const diagnostics = (res: Analyzer.AnalyzeResponse, urn = ''): Diagnostic[] =>
    res.getDiagnosticsList().map((d) => ({
      policy: d.getPolicyname(),
      message: d.getMessage(),
      urn: d.getUrn() || urn,
      level: levels[d.getEnforcementlevel()]!,
    }));

  return {
    async info() {
      const info = await call<Analyzer.AnalyzerInfo>('getAnalyzerInfo', new Empty());
      return {
        name: info.getName(),
        version: info.getVersion(),
        supportsConfig: info.getSupportsconfig(),
        policies: info.getPoliciesList().map(
          (p): PolicyInfo => ({
            name: p.getName(),
            enforcementLevel: levels[p.getEnforcementlevel()]!,
            configSchema: p.getConfigschema() && {
              properties: p.getConfigschema()!.getProperties()?.toJavaScript() ?? {},
              required: p.getConfigschema()!.getRequiredList(),
            },
          }),
        ),
      };
    },
    /**
     * What the engine does with `--policy-pack-config` before the first analysis
     * (`LoadLocalPolicyPackAnalyzers`): each policy's schema defaults, then the file, checked for
     * the properties each schema requires (refused, naming them, as the engine refuses), then sent
     * with `Configure` for every policy.
     */
    async configure(file: PolicyPackConfigFile = {}) {
      const { policies } = await this.info();
      const problems: string[] = [];
      const request = new proto.ConfigureAnalyzerRequest();
      for (const policy of policies) {
        const given = file[policy.name];
        const level =
          typeof given === 'string'
            ? given
            : ((given?.enforcementLevel as EnforcementLevel) ?? policy.enforcementLevel);
        const schema = Object.entries(policy.configSchema?.properties ?? {});
        const defaults = schema.flatMap(([k, s]) => ('default' in s ? [[k, s.default]] : []));
        const { enforcementLevel: _, ...props } = typeof given === 'object' ? given : {};
        const properties = { ...Object.fromEntries(defaults), ...props };
        for (const required of policy.configSchema?.required ?? []) {
          if (!(required in properties)) problems.push(`${policy.name}: ${required} is required`);
        }
        const config = new proto.PolicyConfig()
          .setEnforcementlevel(levels.indexOf(level))
          .setProperties(struct(properties));
        request.getPolicyconfigMap().set(policy.name, config);
      }
      if (problems.length) throw new Error(`validating policy config: ${problems.sort().join('; ')}`);
      await call('configure', request);
    },
    /** `Analyze`: one resource as it registers (its inputs). */
    async analyze(r: EngineResource) {
      const req = new proto.AnalyzeRequest()
        .setUrn(r.urn)
        .setType(r.type)
        .setName(r.name)
        .setProperties(struct(r.inputs))
        .setOptions(options_());
      if (r.provider) req.setProvider(provider(r.provider));
      return diagnostics(await call('analyze', req), r.urn);
    },
    /** `AnalyzeStack`: every resource once the stack is complete (outputs, dependencies). */
    async analyzeStack(resources: EngineResource[]) {
      const req = new proto.AnalyzeStackRequest().setResourcesList(
        resources.map((r) => {
          const res = new proto.AnalyzerResource()
            .setUrn(r.urn)
            .setType(r.type)
            .setName(r.name)
            .setProperties(struct(r.outputs));
          res.setOptions(options_()).setDependenciesList(r.dependencies);
          if (r.provider) res.setProvider(provider(r.provider));
          return res;
        }),
      );
      return diagnostics(await call('analyzeStack', req));
    },
    /** Ends the pack's process, as the engine does when the operation ends. */
    async close() {
      client.close();
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill();
      await exited;
    },
    /** What the pack wrote to stderr. */
    stderr: () => output,
  };
}
