import './ui/surge-app.ts';
