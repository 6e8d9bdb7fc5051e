// What every entry point in bin/ runs. Node's compile cache goes on first (Node >= 22.1
// has module.enableCompileCache; Node 20 lacks it and starts as before), and dist/ is
// imported only after it, so its chunks are compiled from the cache on later starts.
import module from 'node:module';

module.enableCompileCache?.();

export async function start(plugin, completion = false) {
  const { main } = await import('../dist/main.js');
  await main(plugin, completion);
}
