// Every DoH test again with doh.nativeH2 false: HTTP/2 through node:http2, the fallback when
// native/h2-session is not built, instead of libnghttp2 driven from memory (the other files' runs).

process.env.DRIAD_DOH_NATIVE_H2 = 'false';
await import('./doh.test.ts');
await import('./limits.test.ts');
await import('./clients.test.ts');
await import('./browser.test.ts');
await import('./h2-raw.test.ts');
