// The terms of service page.
import { showLegal } from './legal.js';

await showLegal('terms');
