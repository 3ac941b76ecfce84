// The Temporal UI's Start Workflow form, filled in headless Chromium, starts a cell: nothing but the
// workflow id, the task queue, the workflow type and {"document": ...} as JSON, and the cell runs on
// a real worker to its exit code.
//
// Selectors written against Temporal UI 2.54.1, the UI that `temporal` CLI 1.9.1 (Server 1.32.0)
// embeds in its dev server (`temporal --version`). The dev server enables the form by default: its UI
// settings (/api/v1/settings) say StartWorkflowDisabled: false and DisableWriteActions: false.
import { rm } from 'node:fs/promises';
import { afterAll, describe, expect, inject, it, onTestFailed } from 'vitest';
import { cellWorkflowId, CELL_WORKFLOW_TYPE, type CellResult } from '../../src/contract/index.ts';
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
import { useTestBed } from '../helpers/temporal.ts';

const bed = useTestBed();
let browser: TestBrowser | undefined;
afterAll(async () => {
  // Before the bed closes (after-hooks run last-registered first), even if a step before it failed.
  await browser?.close();
});

describe('Temporal UI Start Workflow form', () => {
  it('starts a cell from {"document": ...} that runs to its exit code and output', async () => {
    const ui = inject('temporalUiUrl');
    expect(ui, 'the dev server runs without its UI').not.toBe('');
    const document = rawDocument(['/bin/sh', '-c', 'echo from-ui; exit 3'], { prefix: 'ui' });
    const workflowId = cellWorkflowId(document.spec.id);

    browser = await launchBrowser({ width: 1600, height: 1600, allowOrigins: [ui] });
    const { page } = browser;
    await rm(screenshotPath('start-workflow-failure'), { force: true });
    onTestFailed(async () => {
      await saveScreenshot(page, 'start-workflow-failure').catch(() => undefined);
    });

    await page.goto(`${ui}/namespaces/default/workflows`);
    // A link styled as a button.
    await page.getByRole('link', { name: 'Start Workflow', exact: true }).click();
    await page.waitForURL((url) => url.pathname.endsWith('/workflows/start-workflow'));
    await page.getByLabel('Workflow ID').fill(workflowId);
    await page.getByLabel('Task Queue').fill(bed.taskQueue);
    await page.getByLabel('Workflow Type').fill(CELL_WORKFLOW_TYPE);
    // The input is a CodeMirror editor: typed text, not fill(). Indented as the editor would format it,
    // and the editor left before the click: on blur it reformats its text, and the form growing under
    // the pointer between mousedown and mouseup would swallow the click.
    const data = page.getByRole('textbox', { name: 'Data' });
    await data.click();
    await page.keyboard.insertText(JSON.stringify({ document }, null, 2));
    await data.blur();
    expect(await page.getByRole('radio', { name: 'json/plain' }).isChecked()).toBe(true);
    // The form looks the task queue up: our worker polls it.
    await page.getByText('Task Queue is Active').waitFor();
    await saveScreenshot(page, 'start-workflow-form');

    await page.getByRole('button', { name: 'Start Workflow', exact: true }).click();
    const started = page.getByRole('link', { name: 'Workflow started successfully' });
    await started.waitFor();

    const result = (await bed.client.temporal.workflow.getHandle(workflowId).result()) as CellResult;
    expect(result.outcome).toEqual({ kind: 'exited', code: 3 });
    expect(result.stdout.tail).toBe('from-ui\n');
    expect(result.cellId).toBe(document.spec.id);

    // The toast links to the run it started; its page shows it completed, with the cell's result.
    await started.click();
    await page.waitForURL((url) => url.pathname.includes(`/workflows/${workflowId}/${result.runId}`));
    await openTab(page, 'history-tab', 'history');
    await expect.poll(() => textOf(page.getByTestId('execution-status'))).toMatch(/^completed$/i);
    const resultJson = resultJsonView(page);
    await resultJson.filter({ hasText: '"exitCode": 3' }).waitFor();
    expect(await textOf(resultJson)).toContain('"tail": "from-ui');
    await saveScreenshot(page, 'start-workflow-completed');
  });
});
