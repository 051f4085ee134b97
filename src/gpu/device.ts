// Obtaining a WebGPU device in a browser (navigator.gpu) or in Node (the `webgpu` package, Dawn),
// with the optional features and larger limits the adapter offers, and a summary of the adapter.
//
// The `webgpu` package is loaded with a dynamic import only when there is no navigator.gpu, so the
// same module runs unbundled in a browser. In Node, a process that used the GPU exits on its own once
// its device is destroyed; Dawn's event polling does not keep the event loop alive.
//
// Dawn's instance lives in the GPU object that create() returns. If that object is garbage-collected
// while a device is in use, the instance is freed under pending work and the process crashes at random
// (futex errors, mutex assertions, segfaults inside InstanceBase::ProcessEvents). So the GPU object is
// kept referenced until the context is destroyed.
//
// While a promise (mapAsync, onSubmittedWorkDone) is pending, dawn.node polls for completion by
// rescheduling a native callback with the global setImmediate: a busy loop that holds one host core at
// 100% for as long as the GPU works (measured: ~1.0 core during a benchmark on an H200; on SwiftShader
// the poller also steals a core from the emulated GPU). installPollThrottle() routes those native
// callbacks through setTimeout after the first POLL_SPIN_MS of a wait, so long waits cost ~nothing and
// short ones keep their latency.
import { Df11Error } from '../errors.js';

/** Optional features requested when the adapter has them (none is required). */
export const OPTIONAL_FEATURES = ['subgroups', 'timestamp-query', 'shader-f16'] as const;

/** Limits raised to what the adapter offers unless `defaultLimits` is set. */
export const RAISED_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBuffersPerShaderStage',
] as const;

/** What ran: the adapter as reported by the implementation. */
export interface GpuAdapterSummary {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** Google's CPU implementation of Vulkan (used by CI machines without a GPU). */
  isSwiftShader: boolean;
  /** 'node' (Dawn through the `webgpu` package) or 'browser' (navigator.gpu). */
  runtime: 'node' | 'browser';
  /** Subgroup sizes when the 'subgroups' feature is enabled, else undefined. */
  subgroupMinSize: number | undefined;
  subgroupMaxSize: number | undefined;
}

export interface AcquireGpuOptions {
  /** Request no raised limits and no optional features: the path every WebGPU device supports. */
  defaultLimits?: boolean;
  /** Passed to requestAdapter. Default 'high-performance'. */
  powerPreference?: GPUPowerPreference;
  /** Node only: options for the `webgpu` package's create(), e.g. 'enable-dawn-features=...'. */
  dawnOptions?: string[];
}

/** A device, what it runs on, and how to let it go. */
export interface GpuContext {
  /** The GPU object the device came from (kept alive with the device; see the header comment). */
  gpu: GPU;
  device: GPUDevice;
  adapter: GpuAdapterSummary;
  /** The optional features that were enabled on `device`. */
  features: ReadonlySet<string>;
  /** Destroys the device; afterwards a Node process can exit. Safe to call twice. */
  destroy(): void;
}

/** GPU objects of live contexts: a Dawn instance must outlive its devices. */
const liveInstances = new Set<GPU>();

/** How long a wait may poll at full speed before polls are spaced by POLL_INTERVAL_MS. */
const POLL_SPIN_MS = 0.5;
const POLL_INTERVAL_MS = 1;
/** A gap between polls longer than this starts a new wait. */
const POLL_NEW_WAIT_MS = 4;
let pollThrottleInstalled = false;

/** Throttles dawn.node's completion polling (native setImmediate callbacks); see the header comment. */
function installPollThrottle(): void {
  if (pollThrottleInstalled) return;
  pollThrottleInstalled = true;
  const original = globalThis.setImmediate;
  let waitStart = 0;
  let lastPoll = -Infinity;
  const isNative = (fn: unknown): boolean => typeof fn === 'function' && fn.name === '' && Function.prototype.toString.call(fn).includes('[native code]');
  const throttled = function (this: unknown, callback: (...args: unknown[]) => void, ...args: unknown[]) {
    if (isNative(callback)) {
      const now = performance.now();
      if (now - lastPoll > POLL_NEW_WAIT_MS) waitStart = now;
      lastPoll = now;
      if (now - waitStart > POLL_SPIN_MS) return setTimeout(callback, POLL_INTERVAL_MS, ...args);
    }
    return original(callback, ...args);
  };
  globalThis.setImmediate = Object.assign(throttled, original) as typeof setImmediate;
}

interface NodeWebGpuModule {
  create(options: string[]): GPU;
  globals: Record<string, unknown>;
}

/** navigator.gpu when running in a browser (or any host that provides it). */
function browserGpu(): GPU | undefined {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  return nav?.gpu ?? undefined;
}

/**
 * Loads Dawn through the `webgpu` package and installs its WebGPU globals (GPUBufferUsage, ...)
 * where the host lacks them. The specifier is kept in a variable so that browsers and bundlers do not
 * try to resolve it.
 */
async function nodeGpu(dawnOptions: string[]): Promise<GPU> {
  const specifier = 'webgpu';
  let mod: NodeWebGpuModule;
  try {
    mod = (await import(specifier)) as NodeWebGpuModule;
  } catch (cause) {
    throw new Df11Error('no-adapter', "no navigator.gpu and the 'webgpu' package could not be loaded", { cause });
  }
  const g = globalThis as Record<string, unknown>;
  for (const [name, value] of Object.entries(mod.globals)) if (!(name in g)) g[name] = value;
  installPollThrottle();
  return mod.create(dawnOptions);
}

/** The adapter summary, with SwiftShader recognised by vendor/architecture/description. */
export function summarizeAdapter(info: GPUAdapterInfo, runtime: 'node' | 'browser', subgroups: boolean): GpuAdapterSummary {
  const text = `${info.vendor} ${info.architecture} ${info.device} ${info.description}`.toLowerCase();
  return {
    vendor: info.vendor,
    architecture: info.architecture,
    device: info.device,
    description: info.description,
    isSwiftShader: text.includes('swiftshader'),
    runtime,
    subgroupMinSize: subgroups ? info.subgroupMinSize : undefined,
    subgroupMaxSize: subgroups ? info.subgroupMaxSize : undefined,
  };
}

/** One line naming the adapter, for test and benchmark logs. */
export function describeAdapter(a: GpuAdapterSummary): string {
  const parts = [a.vendor, a.architecture, a.device, a.description].filter((s) => s.length > 0);
  return `${parts.join(' / ')} (${a.runtime}${a.isSwiftShader ? ', SwiftShader' : ''})`;
}

/**
 * Requests an adapter and a device. Optional features (subgroups, timestamp-query, shader-f16) are
 * enabled when offered; the limits in RAISED_LIMITS are raised to the adapter's, unless
 * `options.defaultLimits`.
 * @throws Df11Error 'no-adapter' when neither navigator.gpu nor the `webgpu` package yields an adapter.
 */
export async function acquireGpu(options: AcquireGpuOptions = {}): Promise<GpuContext> {
  const fromBrowser = browserGpu();
  const runtime = fromBrowser ? 'browser' : 'node';
  const gpu = fromBrowser ?? (await nodeGpu(options.dawnOptions ?? []));
  let adapter: GPUAdapter | null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: options.powerPreference ?? 'high-performance' });
  } catch (cause) {
    throw new Df11Error('no-adapter', `requestAdapter failed: ${String(cause)}`, { cause });
  }
  if (!adapter) {
    throw new Df11Error('no-adapter', 'no WebGPU adapter (without a GPU, set VK_ICD_FILENAMES to a SwiftShader ICD)');
  }
  const features = new Set<string>();
  const requiredLimits: Record<string, number> = {};
  if (!options.defaultLimits) {
    for (const f of OPTIONAL_FEATURES) if (adapter.features.has(f)) features.add(f);
    for (const name of RAISED_LIMITS) requiredLimits[name] = adapter.limits[name];
  }
  const device = await adapter.requestDevice({
    requiredFeatures: [...features] as GPUFeatureName[],
    requiredLimits,
  });
  let destroyed = false;
  liveInstances.add(gpu);
  return {
    gpu,
    device,
    adapter: summarizeAdapter(adapter.info, runtime, features.has('subgroups')),
    features,
    destroy() {
      if (destroyed) return;
      destroyed = true;
      device.destroy();
      liveInstances.delete(gpu);
    },
  };
}
