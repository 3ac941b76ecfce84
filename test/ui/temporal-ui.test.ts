// The Temporal UI, in headless Chromium, shows a finished cell as the workflow and client describe
// it: found from the workflow list by its id, its static summary, its outcome (result JSON, current
// details, search attributes) and the summaries of its activities and timer.
import { rm } from 'node:fs/promises';
import { afterAll, describe, expect, inject, it, onTestFailed } from 'vitest';
import {
  launchBrowser,
  openTab,
  resultJsonView,
  saveScreenshot,
  screenshotPath,
  textOf,
  type TestBrowser,
} from '../helpers/browser.ts';
import { rawDocument } from '../helpers/documents.ts';
import { expectNoLeftovers } from '../helpers/host.ts';
import { useTestBed } from '../helpers/temporal.ts';

const bed = useTestBed();
let browser: TestBrowser | undefined;
afterAll(async () => {
  // Before the bed closes (after-hooks run last-registered first), even if a step before it failed.
  await browser?.close();
});

describe('Temporal UI', () => {
  it('shows a finished cell: found by its id, with its summary, outcome and activity summaries', async () => {
    const ui = inject('temporalUiUrl');
    expect(ui, 'the dev server runs without its UI').not.toBe('');
    const argv = ['/bin/sh', '-c', 'echo hello; exit 3'];
    const document = rawDocument(argv, { prefix: 'ui' });
    const cellId = document.spec.id;
    const result = await bed.client.run(document);
    expect(result.outcome).toEqual({ kind: 'exited', code: 3 });
    await expectNoLeftovers(bed.host);
    const { workflowId, runId, hostId, sandboxId } = result;
    expect(sandboxId).toBeDefined();
    const staticSummary = `cell ${cellId}: ${argv.join(' ')}`;
    const runSummary = `run cell ${cellId} in sandbox ${sandboxId} on host ${hostId}: ${argv.join(' ')}`;

    browser = await launchBrowser({ width: 1920, height: 2000, allowOrigins: [ui] });
    const { page } = browser;
    await rm(screenshotPath('temporal-ui-failure'), { force: true });
    onTestFailed(async () => {
      await saveScreenshot(page, 'temporal-ui-failure').catch(() => undefined);
    });

    // The workflow list, filtered by the cell's workflow id: exactly one completed run.
    await page.goto(`${ui}/namespaces/default/workflows?query=${encodeURIComponent(`WorkflowId="${workflowId}"`)}`);
    const rows = page.getByTestId('workflows-summary-configurable-table-row');
    const row = rows.filter({ hasText: workflowId });
    await row.waitFor();
    expect(await rows.count()).toBe(1);
    const rowText = await textOf(row);
    expect(rowText).toMatch(/\bcompleted\b/i);
    expect(rowText).toContain(runId);
    expect(rowText).toContain('cellWorkflow');
    // The list has no summary column in this UI version; the outcome search attributes can be shown.
    await page.getByTestId('workflows-summary-table-configuration-button').click();
    for (const column of ['CellOutcome', 'CellExitCode']) {
      await page.getByRole('button', { name: `Add ${column} column`, exact: true }).click();
    }
    await page.getByRole('button', { name: 'Close Workflows Table configuration' }).click();
    await page.getByRole('heading', { name: 'Configure Workflows Table' }).waitFor({ state: 'hidden' });
    await page.getByTestId(/workflows-summary-table-header-cell-CellExitCode/).waitFor();
    expect(await textOf(row)).toMatch(/\bexited 3\b/);
    await saveScreenshot(page, 'temporal-ui-list');

    // Click through to the run.
    await row.getByRole('link', { name: workflowId, exact: true }).click();
    await page.waitForURL((url) => url.pathname.includes(`/workflows/${workflowId}/${runId}`));
    expect(await textOf(page.getByTestId('workflow-id-heading'))).toContain(workflowId);

    // Event history: the result JSON, the static summary and the summaries of each step.
    await openTab(page, 'history-tab', 'history');
    const resultJson = resultJsonView(page);
    await resultJson.filter({ hasText: '"exitCode": 3' }).waitFor();
    const resultText = await textOf(resultJson);
    expect(resultText).toContain(`"cellId": "${cellId}"`);
    expect(resultText).toContain('"outcome": { "kind": "exited", "code": 3 }');
    expect(resultText).toContain('"exitCode": 3');
    expect(resultText).toContain('"tail": "hello');
    const event = (type: string) => page.getByTestId('event-summary-row').filter({ hasText: type });
    await event('Workflow Execution Completed').waitFor();
    expect(await textOf(event('Workflow Execution Started'))).toContain(`Summary ${staticSummary}`);
    expect(await textOf(event('Local Activity'))).toContain(
      'Summary validate the cell document and check that a host can run it',
    );
    const runScheduled = event('Activity Task Scheduled').filter({ hasText: 'runSandbox' });
    const scheduled = await textOf(runScheduled);
    expect(scheduled).toContain('runSandbox');
    expect(scheduled).toContain(`Summary ${runSummary}`);
    expect(await textOf(event('Timer Started'))).toContain('Summary deadline: spec.lifetime.ttlSeconds = 60');
    // Expanded, the run activity's event shows its summary whole (the table row truncates it on screen).
    await runScheduled.click();
    const expanded = page.getByTestId('event-summary-row-expanded').filter({ hasText: 'Activity Task Scheduled' });
    await expanded.waitFor();
    expect(await textOf(expanded)).toContain(`Summary ${runSummary}`);
    await page.getByTestId('workflow-id-heading').scrollIntoViewIfNeeded();
    await saveScreenshot(page, 'temporal-ui-history');

    // Timeline: the run activity is labelled with its summary.
    await openTab(page, 'timeline-tab', 'timeline');
    await page.getByText(`runSandbox • run cell ${cellId} in sandbox`).first().waitFor();
    await page.getByText('deadline: spec.lifetime.ttlSeconds = 60').first().waitFor();
    await saveScreenshot(page, 'temporal-ui-timeline');

    // User metadata: the static summary and the current details (answered by the live worker).
    await openTab(page, 'user-metadata-tab', 'user-metadata');
    const summary = page.frameLocator('#user-metadata-summary').locator('body');
    await summary.getByText(staticSummary).waitFor();
    const details = page.frameLocator('#user-metadata-current-details').locator('body');
    await details.getByText('exited 3').waitFor();
    const detailsText = await textOf(details);
    for (const line of [`cell ${cellId}`, 'phase done', `host ${hostId}`, `sandbox ${sandboxId}`, 'outcome exited 3']) {
      expect(detailsText).toContain(line);
    }
    await saveScreenshot(page, 'temporal-ui-user-metadata');

    // Search attributes, kept by the server: the outcome without a worker.
    await openTab(page, 'search-attributes-tab', 'search-attributes');
    const attributes = page.locator('.cm-content').filter({ hasText: '"CellOutcome"' });
    await attributes.waitFor();
    const attributesText = await textOf(attributes);
    expect(attributesText).toContain('"CellExitCode": 3');
    expect(attributesText).toContain('"CellOutcome": "exited"');
    expect(attributesText).toContain(`"CellId": "${cellId}"`);
  });
});
