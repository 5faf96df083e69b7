// Checks, before the app or a benchmark starts, that what WebGPU needs on this machine is present,
// and says how to install it when it is not (Debian: chromium brings SwiftShader; libvulkan1 the loader).
import { existsSync } from 'node:fs';
import { execSync } from 'node:child_process';

const browser = process.argv.includes('--browser');
const problems = [];
const hasLoader = (() => {
  try {
    return /libvulkan\.so\.1\b/.test(execSync('ldconfig -p', { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
  } catch {
    return true; // no ldconfig: not a Debian-like system, let Dawn decide
  }
})();
if (!browser && !hasLoader) problems.push('the Vulkan loader (Debian: apt-get install libvulkan1)');
if (!browser && !existsSync('/usr/lib/chromium/vk_swiftshader_icd.json') && process.platform === 'linux') {
  process.stderr.write('note: no SwiftShader fallback found (Debian: apt-get install chromium); a real GPU driver is required\n');
}
if (problems.length > 0) {
  process.stderr.write(`WebGPU needs ${problems.join(' and ')}\n`);
  process.exit(1);
}
if (browser) {
  process.stderr.write('Open the printed address in a browser with WebGPU (Chrome or Edge 113+; on Linux start Chrome with --enable-unsafe-webgpu).\n');
}
