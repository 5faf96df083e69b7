// Steps the app specs share: loading a bundled model through the model panel, and dropping task files on the Tasks panel.
import type { Page } from 'playwright-core';

/** A task file as a spec holds it: its name and its text. */
export interface TaskFileText {
  name: string;
  text: string;
}

/** Picks a bundled model ("tiny-random", "demo") in the model panel, loads it and waits until the panel is ready with it. */
export async function loadBundledModel(page: Page, name: string): Promise<void> {
  await page.locator('[data-testid="model-panel"][data-state="ready"]').waitFor({ timeout: 120_000 });
  await page.getByTestId('model-bundled-select').selectOption(name);
  await page.getByTestId('model-load').click();
  await page.waitForFunction((n) => (document.querySelector('[data-testid="model-label"]')?.textContent ?? '').includes(n), name, { timeout: 90_000 });
  await page.locator('[data-testid="model-panel"][data-state="ready"]').waitFor({ timeout: 90_000 });
}

/** Drops files on the Tasks panel with a real drop event carrying them, as a drag from the file manager delivers them. */
export async function dropTaskFiles(page: Page, files: readonly TaskFileText[]): Promise<void> {
  const dataTransfer = await page.evaluateHandle((fs) => {
    const dt = new DataTransfer();
    for (const f of fs) dt.items.add(new File([f.text], f.name, { type: 'application/jsonl' }));
    return dt;
  }, files);
  await page.getByTestId('task-drop-zone').dispatchEvent('drop', { dataTransfer });
}
