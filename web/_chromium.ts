/**
 * Headless Chromium for the page tests' drivers (each runs in its own process, with playwright-core): one
 * launch with the flags every driver needs, on a fresh profile folder the driver removes when done.
 *
 * @module
 */

import { type BrowserContext, chromium } from "npm:playwright-core@1.65.1";

/** Debian's Chromium, which the tests drive (CI installs it). */
export const CHROMIUM = "/usr/bin/chromium";

/**
 * Launches headless Chromium on a new profile folder, downloads accepted.
 *
 * @param viewport the window's size (default 1366 × 900)
 * @returns the browser context and its profile folder
 */
export async function launchHeadless(
  viewport = { width: 1366, height: 900 },
): Promise<{ ctx: BrowserContext; profile: string }> {
  const profile = await Deno.makeTempDir({ prefix: "bertology-chromium-" });
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    acceptDownloads: true,
    viewport,
    args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-sync"],
  });
  return { ctx, profile };
}
