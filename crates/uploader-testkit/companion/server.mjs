// @uppy/companion as companies deploy it in front of S3, for the app's companion-mode tests.
// Settings come from the environment (COMPANION_AWS_*, COMPANION_PORT). The one change from
// the standalone server: getKey keeps the name the client sends below COMPANION_AWS_PREFIX
// (standalone puts a random UUID in front), so a resumed upload finds its own key.
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as companion from '@uppy/companion'
import express from 'express'

const env = (name, fallback) => process.env[name] ?? fallback
const port = Number(env('COMPANION_PORT', '3020'))
const prefix = env('COMPANION_AWS_PREFIX', 'products/')

const { app: companionApp } = companion.app({
  s3: {
    key: env('COMPANION_AWS_KEY'),
    secret: env('COMPANION_AWS_SECRET'),
    bucket: env('COMPANION_AWS_BUCKET'),
    region: env('COMPANION_AWS_REGION', 'us-east-1'),
    endpoint: env('COMPANION_AWS_ENDPOINT'),
    forcePathStyle: env('COMPANION_AWS_FORCE_PATH_STYLE', 'true') === 'true',
    expires: Number(env('COMPANION_AWS_EXPIRES', '800')),
    getKey: ({ filename }) => `${prefix}${filename}`,
  },
  server: { host: `127.0.0.1:${port}`, protocol: 'http' },
  filePath: mkdtempSync(join(tmpdir(), 'companion-')),
  secret: env('COMPANION_SECRET', 'testkit-companion-secret'),
  corsOrigins: true,
  uploadUrls: [],
})

const app = express()
app.use(companionApp)
// S3's answer passed on with its status and code, so a client can tell a gone upload.
app.use((err, _req, res, _next) => {
  res
    .status(err.$metadata?.httpStatusCode ?? 500)
    .json({ message: err.message, code: err.name })
})
app.listen(port, '127.0.0.1', () => console.log(`companion listening on 127.0.0.1:${port}`))
