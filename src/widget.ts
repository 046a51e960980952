import './ui/surge-widget.ts';

// widget.html?partner=ID&origin=PARTNER_ORIGIN, as embed.js frames it.
const params = new URLSearchParams(location.search);
const widget = document.createElement('surge-widget');
widget.partner = params.get('partner') ?? '';
widget.partnerOrigin = params.get('origin') ?? '';
document.body.append(widget);
