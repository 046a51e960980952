/**
 * The controls and images on a page (shadow roots included) that have no accessible name:
 * what a screen reader would announce as just "button" or "image". A simplified form of the
 * accessible-name computation (https://www.w3.org/TR/accname-1.2/): aria-labelledby,
 * aria-label, a wrapping or `for` label, alt, title, then text content for buttons and links.
 * Self-contained, so Playwright can run it in a page with `page.evaluate(unnamedControls)`.
 *
 * @returns a short description of each unnamed element; empty when all have names
 */
export function unnamedControls(root: Document | ShadowRoot | Element = document): string[] {
  const selector = [
    'button',
    'a[href]',
    'input:not([type=hidden])',
    'select',
    'textarea',
    'progress',
    'meter',
    'img',
    '[role=img]',
    '[role=button]',
    '[role=region]',
    '[role=status]',
    '[tabindex]',
  ].join(',');
  const problems: string[] = [];
  const text = (element: Element | null | undefined) => (element?.textContent ?? '').replace(/\s+/g, ' ').trim();
  const visit = (scope: Document | ShadowRoot | Element) => {
    for (const element of scope.querySelectorAll('*')) {
      if (element.shadowRoot) visit(element.shadowRoot);
      if (!element.matches(selector)) continue;
      const owner = element.getRootNode() as Document | ShadowRoot;
      const labelledBy = (element.getAttribute('aria-labelledby') ?? '')
        .split(/\s+/)
        .filter(Boolean)
        .map((id) => text(owner.getElementById(id)))
        .join(' ')
        .trim();
      const id = element.getAttribute('id');
      const forLabel = id ? text(owner.querySelector(`label[for="${id}"]`)) : '';
      const role = element.getAttribute('role');
      const namedByContent = ['BUTTON', 'A'].includes(element.tagName) || role === 'button';
      const name =
        labelledBy ||
        (element.getAttribute('aria-label') ?? '').trim() ||
        forLabel ||
        text(element.closest('label')) ||
        (element.getAttribute('alt') ?? '').trim() ||
        (element.getAttribute('title') ?? '').trim() ||
        (namedByContent ? text(element) : '') ||
        // A live status region is read by its content.
        (role === 'status' ? text(element) || 'status' : '');
      if (!name)
        problems.push(
          `<${element.tagName.toLowerCase()}${role ? ` role="${role}"` : ''}> in ${owner instanceof ShadowRoot ? `<${owner.host.tagName.toLowerCase()}>` : 'the document'}`,
        );
    }
  };
  visit(root);
  return problems;
}
