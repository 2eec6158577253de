/**
 * The suite's test credentials (the C suite's rsa_test_credentials.h and ecdsa_test_credentials.h):
 * an RSA-2048 key with a self-signed certificate and a P-256 key with a self-signed certificate, made with
 * OpenSSL for this project (test/fixtures/qualification/README.md says how). Public test material only:
 * never use these keys for anything real. Layer L7.
 * @module
 */

export const RSA_PRIVATE_KEY = [
  '-----BEGIN RSA PRIVATE KEY-----',
  'MIIEoAIBAAKCAQEAotmBtzdhDMBFQ9DywkOBoTVh5orvYwADS3laNB1XGSATmvfY',
  '+zUhn+s/HwVMXuyyetzQqSHTJNpbsRx0QjDcviaS+/czREFQPDpFTmMslAmlUd6r',
  'qvvp8GYTb9SlJyH4YS88SOQ8ukdqyT11vmg5160wRmqIm4TA8wz3ZpcI/C6plFzC',
  'UpwKKtKiuTvrY/t1XVRDi4551FXumT5kABlMrp57T6tZYJd9CZ761jJKsXC8Eb7D',
  '5T7jggC1w1SIrzMdng81GCnGDqnzJfap5Z7VPbGsMgSIeSz6joqet2KJHPu9J6ce',
  'g8ZWviIHruaO6JyNggTVjNz+4jb4EI6409JvmQIDAQABAoIBABhjDqYXjLjKXUUJ',
  '2CTH07SGyD2sTiuK77NgfaXiw+2PDGiPV6bM3tdyNO5qDnUDqLm18ih12IcDDSqh',
  'enaEFzaBk87YRszgpAmU51aVCvKzXBa9zALrvS2DN8NuOno4/9db6cD3rvFtavwu',
  'cEC+nnTiKmHNJ950O6naJf1uvkl3XUSzyK7Y6u+HtOQBwUTBF6sDzFg5cBWYWb6U',
  '3LmfGx093Ynnj4UygqN7gT0KBOJQnMp0GS0tOhsuR7IMd1cko65tHLkQDulgtcAA',
  '33PMb/Ql552ygK0EqSPQvLD7hGGswmcLzqn429I3f23y+IDvf2O9/ezEA2Hvsq8A',
  'VAD/VhUCgYEAztmN7TbKVeqiD+C3B/xdSpFaKaqg0ugvbJviov/Q9qK+rMvNmwHH',
  '0Oqv9LN9+j6tY35mY7QEegK9CO33ZEAZMdV5JDz4xTzb7fP9OTHMrZsvCz80psmk',
  'aa6jvLlWVjXC+lccklnjYuP6aZTN80dgTaQ2aYe+ympHr5Dhc2wqA70CgYEAyYt4',
  'Pcn4RpYVFSU62MMUj3DsXV8p3C+qVithu3i7dDk/sU5y8vTf6guxTwpoC4zksTqG',
  'F42C3hWUUZMf32esmU8hBvjeRt1bZs3v4aTYQi/GUVKkumHdUsz0ZqIJHILbnHS0',
  'hmrw1BDzNBUx4Of/AEXLnQ8Gc31xZWvYhOSFqw0Cfxqp8KGjbnGkzT8+uFlPLrdu',
  'BTFZzWFijLpzXcOlNkqUr/+WReq1UAyeNBBXEuYvLiqlII25ptoTgEqmYj2KBbVm',
  'zzbcpTTHo5II4Zt9z+SRHH9WpnLZi1gUKwco3Pg/9eJPWF+FNsqImL8Db4jsqn1X',
  'ravs06tEB/mZs3Ytez0CgYAS7zxrqabekskGRIojxSgQVc6O8xrOqde54rd60lvi',
  'DmLSeIlKFAFZTqHoyBSASUtO7y2b1tqdnK9jfov3BBluCcYTjpvrUm582QoZS9BZ',
  'X32lNDtvmzQczE6FueFbQVv6dehj3HYlpjYDBZ66/3CwiN4ZMkkr3nQh0CD2UzXP',
  'nQKBgADkvvpZ8L6qSKnKyieKiSqpRDp/IkUo8MhEXjVxG3u3HQMNqRXUBX9Sj1AJ',
  'UHadgVqGLEtoF+NX2nw1ngayHhQ4mhwz4LEljQuIKZVEV8H1l75kYobtvn4iyNb+',
  'HGV9U8v+ZtpAdicqT1Stu3TBnNRvbShacvPBMaq3h/v8evWm',
  '-----END RSA PRIVATE KEY-----',
].join('\n');

export const RSA_PUBLIC_KEY = [
  '-----BEGIN RSA PUBLIC KEY-----',
  'MIIBCgKCAQEAotmBtzdhDMBFQ9DywkOBoTVh5orvYwADS3laNB1XGSATmvfY+zUh',
  'n+s/HwVMXuyyetzQqSHTJNpbsRx0QjDcviaS+/czREFQPDpFTmMslAmlUd6rqvvp',
  '8GYTb9SlJyH4YS88SOQ8ukdqyT11vmg5160wRmqIm4TA8wz3ZpcI/C6plFzCUpwK',
  'KtKiuTvrY/t1XVRDi4551FXumT5kABlMrp57T6tZYJd9CZ761jJKsXC8Eb7D5T7j',
  'ggC1w1SIrzMdng81GCnGDqnzJfap5Z7VPbGsMgSIeSz6joqet2KJHPu9J6ceg8ZW',
  'viIHruaO6JyNggTVjNz+4jb4EI6409JvmQIDAQAB',
  '-----END RSA PUBLIC KEY-----',
].join('\n');

export const RSA_CERTIFICATE = [
  '-----BEGIN CERTIFICATE-----',
  'MIID2zCCAsOgAwIBAgIUQqukIqodllkZxT+eTQAT5aLTdp0wDQYJKoZIhvcNAQEL',
  'BQAwfTELMAkGA1UEBhMCVVMxITAfBgNVBAoMGGNvcmVwa2NzMTEgcXVhbGlmaWNh',
  'dGlvbjEhMB8GA1UECwwYUEtDUyAjMTEgVGVzdCBDcmVkZW50aWFsMSgwJgYDVQQD',
  'DB9ET05UX1VTRV9USElTX0tFWV9JTl9BX1JFQUxfQVBQMB4XDTI2MTEyNzA1MjIy',
  'OFoXDTM2MTEyNDA1MjIyOFowfTELMAkGA1UEBhMCVVMxITAfBgNVBAoMGGNvcmVw',
  'a2NzMTEgcXVhbGlmaWNhdGlvbjEhMB8GA1UECwwYUEtDUyAjMTEgVGVzdCBDcmVk',
  'ZW50aWFsMSgwJgYDVQQDDB9ET05UX1VTRV9USElTX0tFWV9JTl9BX1JFQUxfQVBQ',
  'MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAotmBtzdhDMBFQ9DywkOB',
  'oTVh5orvYwADS3laNB1XGSATmvfY+zUhn+s/HwVMXuyyetzQqSHTJNpbsRx0QjDc',
  'viaS+/czREFQPDpFTmMslAmlUd6rqvvp8GYTb9SlJyH4YS88SOQ8ukdqyT11vmg5',
  '160wRmqIm4TA8wz3ZpcI/C6plFzCUpwKKtKiuTvrY/t1XVRDi4551FXumT5kABlM',
  'rp57T6tZYJd9CZ761jJKsXC8Eb7D5T7jggC1w1SIrzMdng81GCnGDqnzJfap5Z7V',
  'PbGsMgSIeSz6joqet2KJHPu9J6ceg8ZWviIHruaO6JyNggTVjNz+4jb4EI6409Jv',
  'mQIDAQABo1MwUTAdBgNVHQ4EFgQUJb+vxj+bG20czHMk/nBJaU0T7l4wHwYDVR0j',
  'BBgwFoAUJb+vxj+bG20czHMk/nBJaU0T7l4wDwYDVR0TAQH/BAUwAwEB/zANBgkq',
  'hkiG9w0BAQsFAAOCAQEABncG9NB+k6N2hoT3d5LOHJr3yZpXJ8wWsWZ+vqPcRBjE',
  'mitq7NwW02BaqkIrLcqaWEQQwlq/6R450TaLV6QqHY6nEpZc+Iu/WMLHtoirwdEB',
  'K3QmVICT2HFcvx7cMvC1ISVaJrJjfLgR/wm4JGdznv4dNSJm5Yio9hKAMFqPRpuo',
  'TrP49Y/WeaTtsAimgAwORu6PqDJZsKpKyxydvARds0EOigcMcOSXEUWIuozr87kw',
  'vASwPv7rVVceg7Ss/P+v2iasbeiJiwfpd1/hulipDvRZLefBioiAdwyu5WtPFvVR',
  'LCIznihxz9I6jKM8/6LZS+t//di0c9vz18DvHiA7Vw==',
  '-----END CERTIFICATE-----',
].join('\n');

export const EC_PRIVATE_KEY = [
  '-----BEGIN EC PRIVATE KEY-----',
  'MHcCAQEEIBYVfkjBpyPWzyECzEz+D1SmXFJbkXObeBiLVEtMGTp6oAoGCCqGSM49',
  'AwEHoUQDQgAEBOa7QQMymwq2EfYP2iN7RPcIZQIXOKK2dJ/YD3hnbXdF8RommdFO',
  'KR+S09v2FMTIwbQgmzkwTyBj9mxEljrRpA==',
  '-----END EC PRIVATE KEY-----',
].join('\n');

export const EC_PUBLIC_KEY = [
  '-----BEGIN PUBLIC KEY-----',
  'MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEBOa7QQMymwq2EfYP2iN7RPcIZQIX',
  'OKK2dJ/YD3hnbXdF8RommdFOKR+S09v2FMTIwbQgmzkwTyBj9mxEljrRpA==',
  '-----END PUBLIC KEY-----',
].join('\n');

export const EC_CERTIFICATE = [
  '-----BEGIN CERTIFICATE-----',
  'MIICUDCCAfWgAwIBAgIUfQG0YrgSLDyXARLshsONMmsqck8wCgYIKoZIzj0EAwIw',
  'fTELMAkGA1UEBhMCVVMxITAfBgNVBAoMGGNvcmVwa2NzMTEgcXVhbGlmaWNhdGlv',
  'bjEhMB8GA1UECwwYUEtDUyAjMTEgVGVzdCBDcmVkZW50aWFsMSgwJgYDVQQDDB9E',
  'T05UX1VTRV9USElTX0tFWV9JTl9BX1JFQUxfQVBQMB4XDTI2MTEyNzA1MjIyOFoX',
  'DTM2MTEyNDA1MjIyOFowfTELMAkGA1UEBhMCVVMxITAfBgNVBAoMGGNvcmVwa2Nz',
  'MTEgcXVhbGlmaWNhdGlvbjEhMB8GA1UECwwYUEtDUyAjMTEgVGVzdCBDcmVkZW50',
  'aWFsMSgwJgYDVQQDDB9ET05UX1VTRV9USElTX0tFWV9JTl9BX1JFQUxfQVBQMFkw',
  'EwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEBOa7QQMymwq2EfYP2iN7RPcIZQIXOKK2',
  'dJ/YD3hnbXdF8RommdFOKR+S09v2FMTIwbQgmzkwTyBj9mxEljrRpKNTMFEwHQYD',
  'VR0OBBYEFHlSNfIqTq8qgG6f1GjcSJzOGcONMB8GA1UdIwQYMBaAFHlSNfIqTq8q',
  'gG6f1GjcSJzOGcONMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDSQAwRgIh',
  'ANcLlFQc/yfxf4TFWqkIfu4DOQOQ5Mk5azd11YIQmZxKAiEAqHE57jZpY6pUt0ow',
  '70mm3DbzjTIFY+5TEnMzYQy3i88=',
  '-----END CERTIFICATE-----',
].join('\n');
