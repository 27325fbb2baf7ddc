import '../shared/page.css';
import './home.css';
import { foldText } from '../../src/web/text.js';

/**
 * Filters the cards of the page while one types in the search box (the form itself searches the
 * whole catalog on the server). Says how many are shown in a live region.
 */
function enableFilter(): void {
  const input = document.querySelector<HTMLInputElement>('#search-input');
  const status = document.getElementById('filter-status');
  const cards = [...document.querySelectorAll<HTMLElement>('.card[data-label]')];
  if (!input || !status || cards.length === 0) return;
  // Folded as the server's search folds them.
  const labels = cards.map((card) => foldText(card.dataset.label ?? ''));
  const initial = input.value;
  input.addEventListener('input', () => {
    const words = foldText(input.value).split(/\s+/).filter(Boolean);
    let shown = 0;
    cards.forEach((card, i) => {
      const match = words.every((w) => labels[i]!.includes(w));
      card.hidden = !match;
      if (match) shown += 1;
    });
    for (const section of document.querySelectorAll<HTMLElement>('section.listing')) {
      section.hidden = section.querySelector('.card:not([hidden])') === null;
    }
    // The server already filtered by the query the page was loaded with: say nothing until it changes.
    status.textContent = input.value === initial ? '' : `${shown} of ${cards.length} shown on this page.`;
  });
}

enableFilter();
