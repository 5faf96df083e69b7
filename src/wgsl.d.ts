// Lets TypeScript import WGSL shader files as their source text (Vite, esbuild and the test loader all provide this).
declare module '*.wgsl' {
  const source: string;
  export default source;
}
