// The first bytes of every bench payload. The rest of the payload is zeros up to --payload bytes.
//   u16 step | u16 publisher | u32 sequence | f64 send time (monoNowMs)   (little-endian)
// The step tells a subscriber which measurement a message belongs to, so a message that arrives
// after its step ended (a late drain) is counted where it belongs.

export const HEADER_BYTES = 16;
export const OFF_STEP = 0;
export const OFF_PUBLISHER = 2;
export const OFF_SEQ = 4;
export const OFF_TIME = 8;
