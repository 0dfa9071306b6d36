// browser.test.ts again with doh.nativeH2 false: HTTP/2 through node:http2 (the fallback when
// native/h2-session is not built) instead of libnghttp2 driven from memory. One file per file it
// reruns, so each runs with the concurrency it was written for.

process.env.DRIAD_DOH_NATIVE_H2 = 'false';
await import('./browser.test.ts');
