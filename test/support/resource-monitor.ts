import { createRequire } from 'node:module';
import { isDeepStrictEqual } from 'node:util';
import type * as GrpcJs from '@grpc/grpc-js';
import type * as pulumi from '@pulumi/pulumi';
import type * as EngineProto from '@pulumi/pulumi/proto/engine_pb';
import type * as ResourceProto from '@pulumi/pulumi/proto/resource_pb';
import type * as StructProto from 'google-protobuf/google/protobuf/struct_pb';

// The gRPC stubs are CommonJS with no ESM named exports; load them, and grpc-js, as Pulumi's SDK does.
const sdkRequire = createRequire(createRequire(import.meta.url).resolve('@pulumi/pulumi'));
const grpc = sdkRequire('@grpc/grpc-js') as typeof GrpcJs;
const resproto = sdkRequire('./proto/resource_pb') as typeof ResourceProto;
const engproto = sdkRequire('./proto/engine_pb') as typeof EngineProto;
const { ResourceMonitorService } = sdkRequire('./proto/resource_grpc_pb');
const { EngineService } = sdkRequire('./proto/engine_grpc_pb');
const { Struct } = sdkRequire('google-protobuf/google/protobuf/struct_pb') as typeof StructProto;
const { Empty } = sdkRequire('google-protobuf/google/protobuf/empty_pb');

/** The wire format's markers (`@pulumi/pulumi/runtime/rpc`). */
export const sig = {
  key: '4dabf18193072939515e22adb298388d',
  secret: '1b47061264138c4ac30d75fd1eb44270',
  archive: '0def7320c3a5731c473e5ecbe6d01bc7',
  resource: '5cf8f73096256a8f31e491e813e4eb8e',
  outputValue: 'd0e6a833031e9bbcd3f4e8bde6ca49a4',
  unknown: '04da6b54-80e4-46f7-96ec-b56ff0331ba9',
};

/** What the engine supports (pulumi/pulumi `resmon.supportedMonitorFeatures`): the SDK speaks as to the real one. */
const engineFeatures = [
  'SECRETS',
  'RESOURCE_REFERENCES',
  'OUTPUT_VALUES',
  'ALIAS_SPECS',
  'REPLACEMENT_TRIGGER',
  'DELETED_WITH',
  'REPLACE_WITH',
  'TRANSFORMS',
  'INVOKE_TRANSFORMS',
  'PARAMETERIZATION',
  'RESOURCE_HOOKS',
  'ERROR_HOOKS',
  'SENDS_OPTIONS_TO_HOOKS',
  'BYTE_STRING',
  'INVOKE_DEPENDS_ON',
  'INVOKE_PARENT',
] as const;

/** The same, as the string ids of `SupportsFeature`, which SDKs older than `GetDeploymentInfo` ask. */
const legacyFeatures = [
  ...['secrets', 'resourceReferences', 'outputValues', 'aliasSpecs', 'replacementTrigger', 'deletedWith'],
  ...['replaceWith', 'transforms', 'invokeTransforms', 'parameterization', 'resourceHooks', 'errorHooks'],
  'sendsOptionsToHooks',
];

/** One `RegisterResource` the program sent. */
export interface Registration {
  urn: string;
  type: string;
  name: string;
  parent: string;
  custom: boolean;
  /** The provider reference (`urn::id`), empty for components and providers. */
  provider: string;
  /** The inputs as a provider sees them: secrets and output values unwrapped, resource references as ids. */
  inputs: Record<string, unknown>;
  /** What `RegisterResourceOutputs` added (the stack's exports, a component's outputs). */
  outputs?: Record<string, unknown>;
}

export interface LogEntry {
  severity: string;
  message: string;
  urn: string;
}

export interface ResourceMonitorOptions {
  project: string;
  stack: string;
  organization: string;
  /** The stack's configuration, keys as `pulumi config` shows them (`aws:region`). */
  config: Record<string, string>;
  /** What the cloud answers: each new resource's state and each invoke's result. */
  cloud: pulumi.runtime.Mocks;
  parallel: number;
}

type Call<Req> = GrpcJs.ServerUnaryCall<Req, unknown>;
type Callback = GrpcJs.sendUnaryData<unknown>;

/** A value as a provider receives it: no secret or output-value wrappers, resource references by id (or URN). */
function plain(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(plain);
  if (!value || typeof value !== 'object') return value;
  const v = value as Record<string, unknown>;
  switch (v[sig.key]) {
    case sig.secret:
      return plain(v.value);
    case sig.outputValue:
      return 'value' in v ? plain(v.value) : sig.unknown;
    case sig.resource:
      return v.id || v.urn;
    case undefined:
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
    default:
      return v; // assets and archives
  }
}

/** A value as the engine hands outputs back: output values resolved, secrets and resource references kept. */
function asOutput(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(asOutput);
  if (!value || typeof value !== 'object') return value;
  const v = value as Record<string, unknown>;
  if (v[sig.key] === sig.outputValue) {
    if (!('value' in v)) return sig.unknown;
    return v.secret ? { [sig.key]: sig.secret, value: asOutput(v.value) } : asOutput(v.value);
  }
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, asOutput(x)]));
}

/** Drops `undefined`s, as protobuf's Struct cannot carry them. */
const jsonSafe = (value: unknown) => JSON.parse(JSON.stringify(value ?? {})) as Record<string, unknown>;

class EngineError extends Error {
  readonly code = grpc.status.FAILED_PRECONDITION;
}

/**
 * A stand-in for the Pulumi engine's side of a program run: the ResourceMonitor and Engine gRPC
 * services `@pulumi/pulumi/cmd/run` connects to (`--monitor`, `--engine`). It answers from the
 * given mock cloud and records every registration. Where the engine refuses a program's request it
 * refuses too: a duplicate URN, an unknown parent or provider, a resource or invoke with no explicit
 * provider when `pulumi:disable-default-providers` names its package.
 */
export class ResourceMonitorStandIn {
  readonly registrations: Registration[] = [];
  readonly logs: LogEntry[] = [];
  rootUrn = '';
  shutdownSignalled = false;
  private readonly byUrn = new Map<string, Registration>();
  private readonly providerIds = new Map<string, string>();
  private readonly server = new grpc.Server();
  private port = 0;

  private constructor(private readonly options: ResourceMonitorOptions) {}

  static async start(options: ResourceMonitorOptions): Promise<ResourceMonitorStandIn> {
    const monitor = new ResourceMonitorStandIn(options);
    await monitor.listen();
    return monitor;
  }

  /** Where the program connects, for `--monitor` and `--engine` alike. */
  get address() {
    return `127.0.0.1:${this.port}`;
  }

  /** The error lines the program logged through the engine. */
  get errors() {
    return this.logs.filter((l) => l.severity === 'ERROR').map((l) => l.message);
  }

  close() {
    return new Promise<void>((resolve) => this.server.tryShutdown(() => resolve()));
  }

  private async listen() {
    const unary =
      <Req>(handler: (req: Req) => unknown | Promise<unknown>) =>
      (call: Call<Req>, callback: Callback) => {
        Promise.resolve()
          .then(() => handler(call.request))
          .then(
            (response) => callback(null, response),
            (error: Error & { code?: number }) =>
              callback({ code: error.code ?? grpc.status.UNKNOWN, details: error.message }),
          );
      };
    const refuse = (what: string) => () => {
      throw new EngineError(`The resource monitor stand-in does not implement ${what}; the program has no need of it.`);
    };
    this.server.addService(ResourceMonitorService, {
      supportsFeature: unary(this.supportsFeature),
      getDeploymentInfo: unary(this.deploymentInfo),
      invoke: unary(this.invoke),
      registerResource: unary(this.registerResource),
      registerResourceOutputs: unary(this.registerResourceOutputs),
      readResource: unary(refuse('ReadResource (`.get` of an existing resource)')),
      signalAndWaitForShutdown: unary(() => {
        this.shutdownSignalled = true;
        return new Empty();
      }),
      call: unary(refuse('Call (methods of remote components)')),
      existsResource: unary(refuse('ExistsResource')),
      registerStackTransform: unary(refuse('RegisterStackTransform')),
      registerStackInvokeTransform: unary(refuse('RegisterStackInvokeTransform')),
      registerResourceHook: unary(refuse('RegisterResourceHook')),
      registerErrorHook: unary(refuse('RegisterErrorHook')),
      registerPackage: unary(refuse('RegisterPackage (parameterized packages)')),
    });
    this.server.addService(EngineService, {
      log: unary((req: EngineProto.LogRequest) => {
        const severities = Object.entries(engproto.LogSeverity);
        const severity = severities.find(([, n]) => n === req.getSeverity())?.[0] ?? 'UNKNOWN';
        this.logs.push({ severity, message: req.getMessage(), urn: req.getUrn() });
        return new Empty();
      }),
      getRootResource: unary(() => new engproto.GetRootResourceResponse().setUrn(this.rootUrn)),
      setRootResource: unary((req: EngineProto.SetRootResourceRequest) => {
        this.rootUrn = req.getUrn();
        return new engproto.SetRootResourceResponse();
      }),
      startDebugging: unary(refuse('StartDebugging')),
      requirePulumiVersion: unary(() => new engproto.RequirePulumiVersionResponse()),
    });
    this.port = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) =>
        err ? reject(err) : resolve(port),
      ),
    );
  }

  private supportsFeature = (req: ResourceProto.SupportsFeatureRequest) => {
    return new resproto.SupportsFeatureResponse().setHassupport(legacyFeatures.includes(req.getId()));
  };

  private deploymentInfo = () => {
    const { project, stack, organization, config, parallel } = this.options;
    const info = new resproto.DeploymentInfo()
      .setProject(project)
      .setStack(stack)
      .setOrganization(organization)
      .setParallel(parallel)
      .setDryrun(false)
      .setSupportedfeaturesList(
        engineFeatures.map((f) => resproto.ResourceMonitorFeature[`RESOURCE_MONITOR_FEATURE_${f}`]),
      );
    for (const [k, v] of Object.entries(config)) info.getConfigMap().set(k, v);
    return info;
  };

  /** As the engine's default providers: refused for a package the stack disabled them for. */
  private checkProvider(what: string, token: string, provider: string) {
    if (provider) {
      if (!this.providerIds.has(provider)) throw new EngineError(`${what} names an unknown provider '${provider}'.`);
      return;
    }
    const pkg = token.split(':')[0]!;
    const disabled = JSON.parse(this.options.config['pulumi:disable-default-providers'] ?? '[]') as string[];
    if (disabled.includes(pkg) || disabled.includes('*')) {
      throw new EngineError(`Default provider for '${pkg}' disabled. '${what}' must use an explicit provider.`);
    }
  }

  private urnOf(type: string, name: string, parent: string) {
    const { stack, project } = this.options;
    const parentType = parent ? parent.split('::')[2]! : '';
    const qualified = parentType && parentType !== 'pulumi:pulumi:Stack' ? `${parentType}$${type}` : type;
    return `urn:pulumi:${stack}::${project}::${qualified}::${name}`;
  }

  private invoke = async (req: ResourceProto.ResourceInvokeRequest) => {
    const token = req.getTok();
    const inputs = plain(req.getArgs()?.toJavaScript() ?? {}) as Record<string, any>;
    let result: Record<string, unknown>;
    if (token === 'pulumi:pulumi:getResource') {
      const found = this.byUrn.get(String(inputs.urn));
      if (!found) throw new EngineError(`unknown resource ${inputs.urn}`);
      result = { urn: found.urn, id: found.custom ? found.inputs.id : undefined, state: found.outputs ?? found.inputs };
    } else {
      this.checkProvider(token, token, req.getProvider());
      result = await this.options.cloud.call({ token, inputs, provider: req.getProvider() });
    }
    return new resproto.ResourceInvokeResponse().setReturn(Struct.fromJavaScript(jsonSafe(result) as any));
  };

  private registerResource = async (req: ResourceProto.RegisterResourceRequest) => {
    const type = req.getType();
    const name = req.getName();
    const parent = req.getParent();
    const custom = req.getCustom();
    const provider = req.getProvider();
    const urn = this.urnOf(type, name, parent);
    if (req.getRemote()) throw new EngineError(`${urn} is a remote component; the stand-in constructs none.`);
    if (parent && !this.byUrn.has(parent)) throw new EngineError(`${urn} has an unregistered parent '${parent}'.`);
    if (this.byUrn.has(urn)) throw new EngineError(`Duplicate resource URN '${urn}'; try giving it a unique name`);
    const isProvider = type.startsWith('pulumi:providers:');
    if (custom && !isProvider) this.checkProvider(urn, type, provider);

    const raw = (req.getObject()?.toJavaScript() ?? {}) as Record<string, unknown>;
    const inputs = plain(raw) as Record<string, any>;
    const registration: Registration = { urn, type, name, parent, custom, provider, inputs };
    this.byUrn.set(urn, registration);
    this.registrations.push(registration);

    const response = new resproto.RegisterResourceResponse().setUrn(urn);
    if (type === 'pulumi:pulumi:Stack') return response.setObject(Struct.fromJavaScript({}));
    const importId = req.getImportid();
    const { id, state } = await this.options.cloud.newResource({ type, name, inputs, provider, custom, id: importId });
    if (!custom) return response.setObject(Struct.fromJavaScript(jsonSafe(asOutput(raw)) as any));
    if (!id) throw new EngineError(`The mock cloud gave ${urn} no id.`);
    if (isProvider) this.providerIds.set(`${urn}::${id}`, urn);
    // The inputs come back as the engine returns them (secrets kept); what the cloud computed is added.
    const outputs = Object.fromEntries(
      Object.entries(state as Record<string, unknown>).map(([k, v]) => {
        const unchanged = k in raw && isDeepStrictEqual(inputs[k], v);
        return [k, unchanged ? asOutput(raw[k]) : v];
      }),
    );
    return response.setId(id).setObject(Struct.fromJavaScript(jsonSafe(outputs) as any));
  };

  private registerResourceOutputs = (req: ResourceProto.RegisterResourceOutputsRequest) => {
    const registration = this.byUrn.get(req.getUrn());
    if (!registration) throw new EngineError(`RegisterResourceOutputs for an unregistered resource '${req.getUrn()}'.`);
    registration.outputs = plain(req.getOutputs()?.toJavaScript() ?? {}) as Record<string, unknown>;
    return new Empty();
  };
}
