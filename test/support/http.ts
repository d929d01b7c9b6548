import { request } from 'https';

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  json(): any;
}

/** One HTTPS request to a test server, verified against its CA, with the admin token unless told. */
export function call(
  server: { port: number; caPem: string; token: string },
  method: string,
  path: string,
  options: { body?: string | Buffer; contentType?: string; token?: string | null; accept?: string } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = {};
    const token = options.token === undefined ? server.token : options.token;
    if (token) headers.Authorization = `Bearer ${token}`;
    if (options.contentType) headers['Content-Type'] = options.contentType;
    if (options.accept) headers.Accept = options.accept;
    if (options.body !== undefined) headers['Content-Length'] = Buffer.byteLength(options.body);
    const req = request(
      { host: '127.0.0.1', port: server.port, method, path, ca: server.caPem, headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json: () => JSON.parse(body) });
        });
      },
    );
    req.on('error', reject);
    if (options.body !== undefined) req.write(options.body);
    req.end();
  });
}
