/**
 * Why the widget should not start by itself here, or undefined: it does not start on a phone
 * or tablet, nor on battery, unless the visitor says so. Where the Battery Status API is
 * missing (Firefox, Safari, and third-party frames in some browsers) battery is not detectable
 * and is not held against the device.
 */
export async function reasonNotToStart(): Promise<string | undefined> {
  const uaData = (navigator as Navigator & { userAgentData?: { mobile?: boolean } }).userAgentData;
  const mobile = uaData?.mobile ?? /Android|iPhone|iPad|iPod|Mobile/i.test(navigator.userAgent);
  if (mobile) return 'This looks like a phone or tablet, so Surge does not start by itself here.';
  const getBattery = (navigator as Navigator & { getBattery?: () => Promise<{ charging: boolean }> }).getBattery;
  if (getBattery) {
    try {
      const battery = await getBattery.call(navigator);
      if (!battery.charging) return 'This device is on battery, so Surge does not start by itself.';
    } catch {
      // Not allowed in this frame: not detectable.
    }
  }
  return undefined;
}
