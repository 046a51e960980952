import './ui/surge-dashboard.ts';
