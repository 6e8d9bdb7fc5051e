/**
 * The parts of client-node kubectl-study uses at run time, in one module
 * that session.ts imports lazily: the bundler then keeps only these (and
 * what they need) in the chunk that auth providers and proxy-url load.
 */
export { KubeConfig, RequestContext } from '@kubernetes/client-node';
