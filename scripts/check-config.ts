// Validates the environment the way the server will, so `npm start` fails fast by name.
import { ConfigError, parseConfig } from "../lib/config/env";

try {
  parseConfig(process.env);
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(error.message);
    process.exit(2);
  }
  throw error;
}
