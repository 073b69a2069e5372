// The privacy notice page.
import { showLegal } from './legal.js';

await showLegal('privacy');
