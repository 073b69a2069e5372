// The page shown for an address that has no page: in the chosen language,
// with the way home; the language switch works here too.
import { init } from './i18n.js';

await init();
