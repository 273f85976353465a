// The `test` every e2e spec imports. Access control (issue #6) signs the page in here, so
// specs stay about what the user does.
import { test as base, expect } from "@playwright/test";

export const test = base;
export { expect };
