/** Entry of the self-contained binary: one executable serves every plugin by the name it was run as. */
import { main } from './main.js';

void main();
