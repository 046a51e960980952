import { fixture, html } from '@open-wc/testing/pure';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { unnamedControls } from '../../test/helpers/unnamed-controls.ts';
import type { AcceptedReceipt } from '../storage/surge-db.ts';
import './surge-receipts.ts';
import type { ReceiptsExport, SurgeReceipts } from './surge-receipts.ts';

const receipt = (n: number): AcceptedReceipt => ({
  digest: `0x${n.toString(16).padStart(64, '0')}`,
  lease: `0x${(n + 100).toString(16).padStart(64, 'a')}`,
  credit: String(n * 10),
  countersignature: `0x${'ab'.repeat(65)}`,
  acceptedAt: new Date(Date.UTC(2026, 0, 1, 12, n)).toISOString(),
});

afterEach(() => vi.restoreAllMocks());

describe('<surge-receipts>', () => {
  it('lists receipts newest first and exports all of them as a JSON download', async () => {
    const receipts = Array.from({ length: 12 }, (_, i) => receipt(i + 1));
    const element = await fixture<SurgeReceipts>(
      html`<surge-receipts .receipts=${receipts} owner="0x00000000000000000000000000000000000000aa" coordinator="http://coordinator.test"></surge-receipts>`,
    );
    const rows = element.shadowRoot!.querySelectorAll('[data-testid=receipt]');
    expect(rows).toHaveLength(10);
    expect(rows[0]!.querySelector('.number')!.textContent).toBe('120');
    expect(element.shadowRoot!.querySelector('caption')!.textContent).toMatch(/12 receipts, countersigned by the coordinator; the newest 10 shown/);
    expect(unnamedControls(element.shadowRoot!)).toEqual([]);

    let blob: Blob | undefined;
    let downloaded: { name: string; href: string } | undefined;
    vi.spyOn(URL, 'createObjectURL').mockImplementation((object) => {
      blob = object as Blob;
      return 'blob:receipts';
    });
    vi.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(function (this: HTMLAnchorElement) {
      downloaded = { name: this.download, href: this.href };
    });
    const button = element.shadowRoot!.querySelector('button')!;
    expect(button.textContent).toBe('Export receipts (JSON)');
    button.click();
    expect(downloaded).toEqual({ name: 'surge-receipts.json', href: 'blob:receipts' });
    expect(blob!.type).toBe('application/json');
    const file = JSON.parse(await blob!.text()) as ReceiptsExport;
    expect(file).toMatchObject({
      format: 'surge-receipts',
      version: 1,
      owner: '0x00000000000000000000000000000000000000aa',
      coordinator: 'http://coordinator.test',
    });
    expect(file.receipts).toEqual(receipts);
  });

  it('says there are none yet and cannot export nothing', async () => {
    const element = await fixture<SurgeReceipts>(html`<surge-receipts></surge-receipts>`);
    expect(element.shadowRoot!.textContent).toContain('No receipts yet');
    expect(element.shadowRoot!.querySelector('button')!.disabled).toBe(true);
  });
});
