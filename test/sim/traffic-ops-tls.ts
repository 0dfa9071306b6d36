/**
 * A self-signed certificate for 127.0.0.1 and localhost (valid until 2126), for running the Traffic Ops
 * simulator over HTTPS: `startTrafficOpsSim({ tls: SIM_TLS })`. Test-only key material: it protects nothing.
 * Made with: openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 36500
 *   -subj /CN=traffic-ops-sim -addext subjectAltName=IP:127.0.0.1,DNS:localhost
 */
export const SIM_TLS = {
  key: `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQguXbiqY5IyVmMtmb4
ZjHbT/oPs+G95Vc/XlNaoqfdn/ShRANCAASHAqhlvhX8fBtAFKpTT4E+zvRaIbQA
VCks6ZrBc54wf5xRtjDiiH7i8iPnCB9gp++aR/qHLwnLZCkmA1WQvfkj
-----END PRIVATE KEY-----
`,
  cert: `-----BEGIN CERTIFICATE-----
MIIBpzCCAU2gAwIBAgIUEP4wSvyz6GarLdwPZok/zGt8RVIwCgYIKoZIzj0EAwIw
GjEYMBYGA1UEAwwPdHJhZmZpYy1vcHMtc2ltMCAXDTI2MTEyMzEwMjQ0N1oYDzIx
MjYxMDMwMTAyNDQ3WjAaMRgwFgYDVQQDDA90cmFmZmljLW9wcy1zaW0wWTATBgcq
hkjOPQIBBggqhkjOPQMBBwNCAASHAqhlvhX8fBtAFKpTT4E+zvRaIbQAVCks6ZrB
c54wf5xRtjDiiH7i8iPnCB9gp++aR/qHLwnLZCkmA1WQvfkjo28wbTAdBgNVHQ4E
FgQU1CC4RC51fD/xqt4mqMI4FspUgy8wHwYDVR0jBBgwFoAU1CC4RC51fD/xqt4m
qMI4FspUgy8wDwYDVR0TAQH/BAUwAwEB/zAaBgNVHREEEzARhwR/AAABgglsb2Nh
bGhvc3QwCgYIKoZIzj0EAwIDSAAwRQIhAM6BfDUUWkSaPOjh5Du/aKP9QOj/aag1
Nw8ZNipupjaJAiBlfNhr6YKg7xq4vDxc0iKFYsZfdQjXFgGjeV68dj1zwg==
-----END CERTIFICATE-----
`,
};
