import { bookieBehaviour } from './bookie-transport.suite.js';

bookieBehaviour('fake');
