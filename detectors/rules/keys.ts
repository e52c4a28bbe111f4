// Private keys: PEM (PKCS#1 RSA, SEC1 EC, DSA, PKCS#8, encrypted PKCS#8), OpenSSH,
// PGP private key blocks, PuTTY PPK files, age secret keys, WireGuard private keys
// and private JSON Web Keys. Public keys and certificates are never findings (their
// labels differ, and the validator decodes the body). PEM bodies are matched with real
// line breaks or with `\n` escapes (a key inside a JSON string). No destinations:
// a private key has no legitimate place to be sent.
// Example values are synthetic literals (made once by the generators in test/corpus/gen/keys.ts).
import type { RuleSpec } from '../types.js';
import { LD, E64, SGR, token, assigned } from './build.js';

/** Body of a PEM block: base64, line breaks (real or `\n`-escaped), armor headers (`Proc-Type: 4,ENCRYPTED`). */
const BODY = String.raw`[A-Za-z0-9+/=\s\\:,.-]`;
/** A 4096-bit RSA key is about 3.3 KiB of PEM (more with CRLF or `\n` escapes): the window, and so the match, is bounded by this. */
const PEM_MAX_LENGTH = 5000;

/** A PEM block with `label`; the whole block is the secret (the validator decodes it). */
function pemBlock(label: string): string {
  return `-----BEGIN ${label}-----${BODY}{64,}?-----END ${label}-----`;
}

/** A PUBLIC key and a certificate: the negatives every private-key rule carries. */
const PUBLIC_KEY =
  '-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE' + 'q'.repeat(20) + 'Q8vZ3xN1c5Rr2b7Wm0aT4yHkL9sPdE6fJ' + '\n-----END PUBLIC KEY-----';

export const rules: RuleSpec[] = [
  token({
    id: 'private-key-rsa',
    title: 'RSA private key (PKCS#1 PEM)',
    severity: 'critical',
    keywords: ['BEGIN RSA PRIVATE KEY'],
    token: pemBlock('RSA PRIVATE KEY'),
    secretGroup: 0,
    entropy: null,
    maxLength: PEM_MAX_LENGTH,
    validator: 'pem-private-key',
    destinations: [],
    positive: ['-----BEGIN RSA PRIVATE KEY-----\r\nMIICXwIBAAKBgQDV24HXas2DxJ3+FQbmwU/7dEIqvHGdtuB8c90xne2aEfi4bmJH\r\n3YmVmiz8u9Pv1RNmJp5qq7fAgbOvX8/guJEi/ZkqUf/6peXvrrHda2uqcU8htvKd\r\nu8cnErm6EvAM2bbSqTMsfWyXw6SnG2xcWpw8WYhFKVRJPn/r5H4jBa0GvQIDAQAB\r\nAoGBAJ6p1qaOWeiVvdkL03wU4sCuFAt1VmphnQIB76ACO9dO/6gwRkhs8UAXf6JS\r\n3FP1JupyJYB0PzgaoZOvJuGustaxxQf3d8vl6Lw01v/vBC/GH+V6fHv0GJtm5xTe\r\nOPbyqME6LhmTC7qrtUVVeT2yA9pDU+Az6eLCbpOxkfNWNOh9AkEAjFQaPFkQG/RU\r\nxjjMgpb2XZCM6tpkwRfjXfL5lEnmNRJ5miITZxzG9giUPD/35DeX8n+7jEMg3e+r\r\n2TJJNQsHwAJBAPN3qvONGWiauJJYoKvC3H613Thuzw1lxialCDBUXrG05A8HgYs0\r\nfJk9ctFrd+tCVv/RimjITuTgDPezGx/VHIMCQQCzXQWLpl+DNYWeA0hWeg0Zk19B\r\nQNPeFC10J5HOGJcip8DkDH1p/Tv1NLlc3FZwhqjd08LZoM32M17GsvBvjbgnAkEA\r\niPN6jyPR11S9eNmKt7P0Lwl4TcrHqNgUEmFhvVyDYtHabtGCzZm1zx8Dnpa18xbY\r\nmdRZ7Y6Tx77iNHIubp9BFgJBAJhyNYiP464zv6AaOPnc5bnHv9EuZHEZViM0k87C\r\nuNLU6K+u/NxrNxPCQ+K8DcrchogdsVm1g76xvFNoadu0k0M=\r\n-----END RSA PRIVATE KEY-----', 'deploy_key: |\n  -----BEGIN RSA PRIVATE KEY-----\\nMIIEpgIBAAKCAQEAmms4szcTJcTK9qddjbOn/d/5i0cuP6OVoAG5owCGLYChdt5F\\nk9OCHg+xTflxqVyJlQYjZhXLMDnnn3h5C7QeMAmt9lR5Tsj2tNbW0WfGvUpjovm1\\nVwAtSgqa2OA/mTXa7V/oJrgjq/a88pKLcs0VeuVxbtRdHeuyIoNy2Pb2YXj+2hAA\\nYVaAk/i+bVwDOE/StIxfzDZgf2LICW6ezTflXYvVBz5oMBRUDXwjHO6w/8uahziC\\njAsvlpSDRnFEu39HRCtcm6FIhNNDPgJUJm0402CafpqQ5y5PpVBnDVc1uDofxHzD\\neHTtXsD0/hz0TbK0UaWBZkibI4Cukwza+S65ngIDAQABAoIBAQDDanij7AAZrnII\\nuleuUsjxkCFS2w9IuHzdIDTlFUDG+GvzZZj2xiJ5CQj3eZpdijWQH/jrX3efZzjt\\n/dP8L+SBX7/NMqecUe38xb8DHIIyeIunqCs8kUvmxJT33+1YDmWbBa9gu3bDv4Fq\\nKEFT4Zn5tEUCasC4ePiodcg1sv7TPtDfjiX2k84PsJT7ie6QfRvzcn6oT7GzNDZa\\nzZEdTGB9INKG6CRbGNHvpehoLGb+W5JY1a6qeiatuBh3s9wWu1TyCA/LqpQqA5v2\\n+8zar8a5ZPFjIzgaqF5/ulPLsBQThNqNA9qfLR4MtMzn9gLsZER4XJ9w5zJ1QKFG\\nFVBx/dyQAoGBAO9I1wfRKeBbH+nVkTTjclvbrlVMe4pU+mrrLM33PY5kOVuWhJAW\\n6ZoGPbeQSSFZivfZkHlgrrPcbxYUZlT+Xe3hbP5VHrgFU/MLlVjDxdbWeqU3Z1Hm\\nBdZcK4kjULtUg6GksyZ2yX2cCmUmRRHC4J3wB7aWbSjOEcQweEg7QdZIAoGBAJOp\\nmZHePy5pG8xGQ9J9JWOaLCVCmbQ8eDhKpETx5aVbgNFJcUsnbYJmzcTcPbo/Vfiy\\nSSAP42KMGdpTsqXqy4OGxto6mkpsbxpBtve0jTFGybAHOvNucoO5TegqKSy2pDqx\\ndYuEbwEOIqhdPeZXgo/wkJZtPFrvA1lGVyWhlhMIAoGBAOpkgF+8zqUDsNlBVsZP\\nzveMtCyb3/2QcwtYIHf+as4IG73pKwtrZG/FZteWBkYKTQ4LIxsUUTDeDi0CqHCR\\nQ0yEKhU7pOt/KQn+AaEpqzxvp1JV6Fefu1C56vmynBjSNutMQmZNV/okHJWkqXjb\\nU5Y8dOhTHrEi6l8qN6c4k8n+AoGBALrlPJrP57vc4tniOaoZ4wiuHZmM5DTenq1A\\nmEukX71WxVEviKWoF9RnixAlI2NqVkSeUJtvYXO3t9KqXx//9G+2Ado72N0nwpHZ\\nJLMSMsyIi4EkcDUZKhTAPwvF17lqbjdv0/NpEw2HBrn0P19+ke+PdvZqYE6vAV8E\\nEN3RfodVAoGBAM281XGxbhuv0U2Y6ibM3Pk/qbEBMO1TsBSd8OFCgN5fmhNqYha5\\n+NyXLYgokzo5NnOmh/lkmRocWiza3cTKhB6nOXXB2NwGh6aKEwfgTtmkaqpb533w\\nNNd2/op5XM50BCh8hGOUjMrzarZl2HiDePS2hwf3PfJlVILdWNRq09o+\\n-----END RSA PRIVATE KEY-----', '{"ssh_key": "-----BEGIN RSA PRIVATE KEY-----\nMIICXwIBAAKBgQDSkxBQZ9dSI2HF35DvydYlpPuaxpQn1gK9OUVf2WOgqLUijiUB\n05GNKVhOpaVk6nFjYCCLvl2pqdFriSJN91LFLUpdmiEROUDwzGMSIeXmZ7lVba0i\nXkLYALCN9ljZISb/tGWqlwIY7JVeZRvJJmQsbH8wXs4Lrv4alCdxGYnJZwIDAQAB\nAoGBAK8kS0kzaoHnZySISna1EOL1PJxrXLdblk+K2u48Aoidh91MzF7qHJAec6iG\nSUG4vRoB7U53mdPHPqLHh+OTWFRxm1DzBfndXBnrAfIR8zP6V/x7Ban/zAdMgzb3\n76EepUCVLbOomd5NS6BgY/8flhi+RBqMP8hjrbspjx+X3+U6AkEAu89oyzLPqLQZ\njVPz8UTWckSAzOdGgxFV98B2ZoIfsjbl2SLywc/C27CyHKZybM985Li1mD8Nruwl\nfJkPgmHmAwJBAP1wBnKL4PbL386m41gk/lP+Ibz3gMSBMHDL9//s/x+qn7jcn1hp\nFmIe/+4o6MveDf/6tdqHbTuUnvEH8o9PnaECQQCJHn8XO+Ilxn4KjiG1otx5sb/2\n5EpOM+qd6fUTH6Xq4bEes04SEVX3rRJvM9zfEcKHUsySkwjUJmRDwVwdVrFPAkEA\nte5kSGZ8FDihPlNR6tBSGWhzVF6oG86bO4KNsmuUE1Xj5il9c+KkcXl2nQhIS93i\nBUZH3SninL8k5w+XCveDcQJBAMuCumMjt7he1SvFZTpoJI39YuPWo2nfw2mj+PYk\naHs/9ekDB5vRCNSi5eJ25hcCRAg+QIp65cXcrpZeUg0GBkc=\n-----END RSA PRIVATE KEY-----"}'],
    negative: [
      '-----BEGIN RSA PUBLIC KEY-----\nMIIBCgKCAQEA' + 'x'.repeat(60) + '\n-----END RSA PUBLIC KEY-----',
      '-----BEGIN RSA PRIVATE KEY-----\n...\n-----END RSA PRIVATE KEY-----',
      '-----BEGIN RSA PRIVATE KEY-----\n' + 'bm90IGEga2V5IGF0IGFsbCwganVzdCBzb21lIHRleHQgdGhhdCBsb29rcyBsaWtlIGJhc2U2NA==' + '\n-----END RSA PRIVATE KEY-----',
    ],
  }),
  token({
    id: 'private-key-ec',
    title: 'EC private key (SEC1 PEM)',
    severity: 'critical',
    keywords: ['BEGIN EC PRIVATE KEY'],
    token: pemBlock('EC PRIVATE KEY'),
    secretGroup: 0,
    entropy: null,
    maxLength: PEM_MAX_LENGTH,
    validator: 'pem-private-key',
    destinations: [],
    positive: ['-----BEGIN EC PRIVATE KEY-----\r\nMHcCAQEEIBn4dWKo5Luv5Le2p+wGi5Ey7WkSVZfAru642WwhXRmUoAoGCCqGSM49\r\nAwEHoUQDQgAERD9+OJqFNaCC0PH5VNxL03HDJp9Q3/h/bch/zpzMdwiUCMxC0kAe\r\ntkgM/T3yFdUKhe4v3pG3XIWyla258TxFOA==\r\n-----END EC PRIVATE KEY-----', 'key.pem: |\n    -----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIMlSIkkc2U+MomvSMMk668BARnVJFyhFe7ZQ4AOPM9TsoAoGCCqGSM49\nAwEHoUQDQgAED/mfTGS1C2dtfS30M7sMRbpFmB2aaR4Bl9t0k3E9Atyp3+0/GgQP\nD+izZZVlPd5aRzSdOy3X1EwsXlzmGT8rUA==\n-----END EC PRIVATE KEY-----'],
    negative: [
      PUBLIC_KEY,
      '-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----',
    ],
  }),
  token({
    id: 'private-key-dsa',
    title: 'DSA private key (PEM)',
    severity: 'critical',
    keywords: ['BEGIN DSA PRIVATE KEY'],
    token: pemBlock('DSA PRIVATE KEY'),
    secretGroup: 0,
    entropy: null,
    maxLength: PEM_MAX_LENGTH,
    validator: 'pem-private-key',
    destinations: [],
    positive: ['-----BEGIN DSA PRIVATE KEY-----\nMIIDWAIBAAKCAQEA1pX2C8Jf7DmFB/KvCqWZ/gJf6AzC5B6HDaXvxyjehg1RuTP4\nfTPALN/FUkxUc9tcka1P1zJ/hc+7Gy630Igi/G9QBZYjctUVzPob8zwOjqLErLFs\nI+17tGtAmQLsNGIc3MSYITbfAFGzlwXxNz4SVkdMUY1Dj1Jt7voyImh3Om0shpHz\nq0oai4J+3ihhPIZiQawsRULALaQyRu5Hm9lATTDC/z+MpSS/Odv7zJrJ0Ndi81lQ\n2qua75TA0ZHQPW1/SI5Ay/ZMzTT7awSpVUnw3/OgxMd/JTWz4ie3jqIJ+tqFSyPC\nZtax+Z48v9oTemlC5RN70F73uWKUjCjqPBDMxwIhAIcvczVUqs6huiw+mtQt2+mM\nxjZfu+NYFcbcAXPQ5sS+AoIBAQDl22RBy/OHOnRvnRQid/FA0kRd2kKdNUclAcnO\noC0/YJQ2JGJCwlMcenO4n/WNbuRU7cx/qvmF5S2/m7iGCXDrYIJD+L/3SF/m13PA\nu0Q5k2Udy8wOJ550pNK+Cd+CyIK7gfMElkjXDwG5imH2WcjqAj88VeBgisS7mV+4\nfoZRFHKTfOIPeEMqDPo8OnKaeQNeKbYMD72ZeTZxcRJxxvWJZxzIVLgUZVFL8FkL\nPNe2XHafRReb1n0pTZkHSsd4PKd9VtdNnInbqF3mGFEnX69199qavceEAEOfMY7u\nJ/o5C4VDUCf1fNxhkqKYKBSWzgLXbIv5wO+B09BTdwPFlKyrAoIBAQCGudSpzUWs\nYuRxO+BLdzxdvYtZOR+1R7KzADY4pJ9d3SmuryP5DtL332L9zjrWtlgWw2BQ2f4l\nfz8GhPOJWt6BwX8jRa+Axb1C+8yewjkTqf5GTZz+voDhFBsRYbl5NxVW3tX6BkC6\n4o1pOh/EI5rIj0zJVoyNR1bfCYm2e4qBS7wKr6MAc1ZFSvZVRDeCrOUsoBODpKnI\ngAkjttBkUPyX3psTzbae3XMBLS7bIQCbQFFePk6/lqdcJtzprFSii/90lIDwT3HY\n+TY+TLe29RWNvXXRpGaMx+FwjDQoBnKXattiUdAdimUeP9zWVLtPTBJMTtN+lp1l\nlXudT5iax4KeAiEAi5/NktdH/SnazZJYpi7G6JG7Z2WYdonLLAL3bAC/9Vs=\n-----END DSA PRIVATE KEY-----'],
    negative: [
      '-----BEGIN DSA PRIVATE KEY-----\n<redacted>\n-----END DSA PRIVATE KEY-----',
    ],
  }),
  token({
    id: 'private-key-pkcs8',
    title: 'Private key (PKCS#8 PEM)',
    severity: 'critical',
    keywords: ['BEGIN PRIVATE KEY'],
    token: pemBlock('PRIVATE KEY'),
    secretGroup: 0,
    entropy: null,
    maxLength: PEM_MAX_LENGTH,
    validator: 'pem-private-key',
    destinations: [],
    positive: ['-----BEGIN PRIVATE KEY-----\nMIIJRQIBADANBgkqhkiG9w0BAQEFAASCCS8wggkrAgEAAoICAQDaOMy3xDDpG+6l\nWFjdnPzeR4mxa/L3//h9zHDXsBZ2b15Ek4Lo60gKJDToMVoknT/TMI3S5U49w6D0\nmEDPpnJc99vtyVJ873kSDxCxnwDNsnUcTaJ81bCZY/R3Sp2nUDrUFcOkdsqZ6h90\nRP9t06MptiE98hiGWn8boZaYHgDgFGkCiXN1lPe+OOzRN3KYoicRgJvbU2gIYLJF\nuj1jp1yQd2M8Cv9y+OEHb6XMmq81jzJNwUw+o0ozta6xWTYurVBiu6wX5zhMmgIP\nSUrknvZIO/guX+7M4VCSqo0iOIji61Gm+xUf3+GHPUrfir1TkMN4lGGfHt8jS8DD\nfZgmpelXzsAUZc/hu/GszZAJYGwYhS5IdP0QRLTMskBikjh5QjqFVKVxBm+xsjy6\nqm74lM5HGBo0J8zQrReedbxL+75fcxQlLO6Iw5UwvwOXEXchk1H5XYTc1Ut0S964\niJ8bP6aK8tK6owXojtfQUGtW2dFOw3X9gmNJQtPwVxuc/8x9C7UrBnrWL/5uHMu7\nFeycHrLzco0Lfpg3BWbZyvryVUHMvLCPxyU+6JQtkq9NnYvJhseZ2cGI0xkNJudF\n/IcCVi2kmxXmZttEfDvhsBjI0MNNCZqRlCdg34mPavaQ4zGUF3xsXuszLXaGD5xO\nimGjkOQZ/gzOjatBiGIvB+9k14cr5gIDAQABAoICAQDc7niYnCsI0pw404Ne1YSi\n4DYs1ytG1FFb72+vn5EEgEULoTcBpJArU7T59hmHni4LvhlZMQGzO63l83v35sQC\nslpF5OCivZQ5DFnTnBzaNm7ChQKKT+8Fx6bhC8AhQmmyd2oOOSB8HMeIVIWo/tYC\norhIu1Omm0yVNSf1ElJjFf2RbzceQstrUrh16cfCWQEkn6DbfvGkYY2Qc4atz6v+\ntFdge9tqlLi/yWRwDKrO0S67WlfTEMmjzpikIJfYGEpiRTO7SzB/6qEw6uS8iELZ\nDaf58wZVvtaiIS5DWGif1tf5dlEc/hfg4LDUItavzKMf86ged7/xUc/qz+ogPMvw\nEi6RN/ExaUuw4fZf0a+vB65lY9OqTNwEQvYKADDbhAxYGhs3tIFroeGDgwf5US4r\n2Ro8641B9ByyQDxJTWxddLe8biK5CG00UQ+O+NIBmQLFXS2vawhLey13UEhBH+Lo\ne09iEOavxF8lEbwTbooYIW8pp7Be7ZBM47W6V8xOkTso06ejpbc+k8+rOXYo/uhv\nhi/QqPg4JCos099BtS/pi0TTyG/2QQj63iYTSBp0/0DcNihclMiXaCHBjcSujXj/\nxZjI+EevD7Agfv314uWyTIHTUf40ARg/JdR0gQfl8ZaZ8xhgjH9kAlP/83rwbeql\nYdd2SxQQWmM5GbAnqFvmBwKCAQEA4oxJqpaV7LtmBbuF+tHAG6Cyq+/pxs0NunC0\n7W+pF2SG4dsCb568iEJ2RNLWF5PX3TuPv/12poDMf8PHW3g/yJ4L51+vzGyRngwD\nIlM5acvaUbjyHI64WAhuLnoUxhSshdLwmGP2pXibAzsMREl1T9lSKM5jnjIGU+qc\ngTjOx+zRDnCSLy5KgWA8jqrLdPNlWRqx09WfRW8ULRQ6BuWBh7DVeF4JtDONwI1W\nl3AdY3mu6kkqdbRydooes82CF7ZFLfi5cjP0arMQyPttblETYdq6Z3oDxFxJKZNL\nn7Rge8uZXBCnkxyrx+0CZdiPAPBMKYoViDwJu/tZJpDjBhCn1wKCAQEA9msnMInu\ngV5hqPWqI/i8zNjXqbGxSLg3nn5WphVhk5bB6o/cpOl0k6ncb/ryUqOMWczQIMGI\nnfPoNgGcowmmKO3J0/81/a5pX/HqyP7uGzbm2mQ5l7Hbto8nwVeyZxnniHPq8uiK\nUmNcsbZdpN0zyKVJYBhGaphPFGpMDGbp1kdZUtmo9TswBJ8FsvD2+bgWuFOduLMJ\n9gefCHQOCdS164p9Q0e12pGqCj0yHz92dxVHuIeuMkZsAbXFZoex7bPVDSgzDwH2\n4toHAHIU/nMTFpQrQTGTNrs6OYLsCt1yzl1aKR87CCOck/tDa7oJxg1XJcsBdnv6\nceB3KXv7EqwuWQKCAQEApP9dcgSwKm8/jPI5qSMlcGNbHCP+dq3WaPt/4T5o6Y5q\n/IfFewijVnTcQDFUygAoyApJ/Lj7HgIhWgm47y3L+mM7KRDJbjJJ+3R/Rp4110tW\nKGLS7wbJF3PFGG8L7+ClV3LFp7BO9at+9+sASm6jx1yyuc7jd0maVB9PrwB/VVV0\n681341V3KLS7De4o9edcOzZDHNKPnWZHmF3KetWGooA96Wge5sUwdWVSNjc1c771\nwG4W34XmWw3bBwas0ze83nimrZMVUkh9U6Qmdq6NFmJfVOo08Dws+FUiLN3bKow1\nV/oshSoJhUAH3Xcq5k4Lb1h2IkFQEwDQDdIrdMd0bQKCAQEA8zVdTx47mD/0bqOG\nefKzJfN3K30ht71bBRxx76tdGCenRfKPnE5BEdi96M61KLm0v+dnnQ2mDSXc0Eu0\nwVJd8o0J7KkEbJ/hArajLWeu4yZM4b+y1Us9Rew8KGx6r2y2PLtwzUV31u6QliV4\nuw0HPoEP9BSCI/JUt2Gi9ysN33mKFLYbB6OJWpQsG8cJvGTW9nVw4aNg32I6NfeY\n5ElDGEpCvLaxZ/keVNPi80emZS+obt/75n4eidlzUwF3xWS6wY9xLQLpJk85BjNV\nfukQVcdXHtfYyxVLK853+E/cK3VW+EokNiSAoqf2opxi5mSp4Xa0qJExOje3dTkH\n0DgnxgKCAQEAtm5eaclL1Saqf+1cE9VGzwOxUfJpjvrcmGgxxB3f2IPcnwt6J9Tw\nuAhwvypi8LNco6f2Wva+iMqOFYbKBjtP4gkqcO0PDiSB3rVMGqtqFUYAeZQcSD4g\n7H43QAyCjg9uT+3tYDgzIaGoJj7XUZp+iVQg5h4QFOPngsminFNcPU4hVcAiAwku\nBmrwzD5T2EJkYr6lg4KbVwWmJmdtagQzNemK0lzQuxFcigcQ2KQBqw6BoHhOD7VE\noLa0zm3BVGDlWXDvsF8wmHb5KFcP81yteesCV+8prmF0pRRGhJFOVfpFOu0Dul4g\nFeZ9H9yE9KrXAH/NoPpK8N7ChDtDfmplaA==\n-----END PRIVATE KEY-----', 'TLS_KEY="-----BEGIN PRIVATE KEY-----\r\nMC4CAQAwBQYDK2VwBCIEIOMLODl8MEz73L8w2oFOSU66C0UcmNWfAnblH+wqZyjz\r\n-----END PRIVATE KEY-----"'],
    negative: [
      PUBLIC_KEY,
      '-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU' + 'Q'.repeat(60) + '\n-----END CERTIFICATE-----',
      'const header = "-----BEGIN PRIVATE KEY-----"; const footer = "-----END PRIVATE KEY-----";',
    ],
  }),
  token({
    id: 'private-key-pkcs8-encrypted',
    title: 'Encrypted private key (PKCS#8 PEM)',
    severity: 'high',
    keywords: ['BEGIN ENCRYPTED PRIVATE KEY'],
    token: pemBlock('ENCRYPTED PRIVATE KEY'),
    secretGroup: 0,
    entropy: null,
    maxLength: PEM_MAX_LENGTH,
    validator: 'pem-private-key',
    destinations: [],
    positive: ['-----BEGIN ENCRYPTED PRIVATE KEY-----\r\nMIHkMF8GCSqGSIb3DQEFDTBSMDEGCSqGSIb3DQEFDDAkBBBoGwnlXvIfgcEqzBnp\r\ntw5bAgIIADAMBggqhkiG9w0CCQUAMB0GCWCGSAFlAwQBKgQQySliKXeCtDNY/RJD\r\nwzqBCASBgGNTSqKZ2dOC/3Qxb1bZUHVM84aaNfIpO7PKkwoQTEcsOQw4w12xh/Gg\r\nO1+mWsBPtYbfJnt8rDBErtbeDdiXN7wSNLso8rrOGNgALlaTTxXj+tTitoB6DzN/\r\nkhv3mH7TXg6XzCUjSD3ZhsM5K4bW3ldCQ1ijJ/wsigzQlSy3M7v4\r\n-----END ENCRYPTED PRIVATE KEY-----'],
    negative: ['-----BEGIN ENCRYPTED PRIVATE KEY-----\n[redacted]\n-----END ENCRYPTED PRIVATE KEY-----', PUBLIC_KEY],
  }),
  token({
    id: 'private-key-openssh',
    title: 'OpenSSH private key',
    severity: 'critical',
    keywords: ['BEGIN OPENSSH PRIVATE KEY'],
    token: pemBlock('OPENSSH PRIVATE KEY'),
    secretGroup: 0,
    entropy: null,
    maxLength: PEM_MAX_LENGTH,
    validator: 'pem-private-key',
    destinations: [],
    positive: ['-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\nQyNTUxOQAAACDB2USn4CRZqraCQToMLZKiiuZMbLNaJxQUqJolTGalPQAAAJCIxRibiMUY\nmwAAAAtzc2gtZWQyNTUxOQAAACDB2USn4CRZqraCQToMLZKiiuZMbLNaJxQUqJolTGalPQ\nAAAEAC+A2Qhq1cR6aRGnVYzoxnXWVr/7sWiksd2SCq1oiAtcHZRKfgJFmqtoJBOgwtkqKK\n5kxss1onFBSomiVMZqU9AAAADWNpQHJ1bm5lci02OTE=\n-----END OPENSSH PRIVATE KEY-----', 'SSH_PRIVATE_KEY: |\n  -----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\nQyNTUxOQAAACBYsaRSSv2/Z35bV7fW1tb6OCeH+AREbSwHYleLo2iAOwAAAJAnWjfUJ1o3\n1AAAAAtzc2gtZWQyNTUxOQAAACBYsaRSSv2/Z35bV7fW1tb6OCeH+AREbSwHYleLo2iAOw\nAAAECJflixnVKV3PwmFsuG/kbiAJLJg8+nlevU3olGu+7TPlixpFJK/b9nfltXt9bW1vo4\nJ4f4BERtLAdiV4ujaIA7AAAADWNpQHJ1bm5lci03MjQ=\n-----END OPENSSH PRIVATE KEY-----'],
    negative: [
      'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI' + 'A'.repeat(43) + ' ci@runner',
      '-----BEGIN OPENSSH PRIVATE KEY-----\nbm90IGFuIG9wZW5zc2gga2V5IGJ1dCBsb25nIGVub3VnaCB0byBtYXRjaA==\n-----END OPENSSH PRIVATE KEY-----',
    ],
  }),
  token({
    id: 'pgp-private-key-block',
    title: 'PGP private key block',
    severity: 'critical',
    keywords: ['BEGIN PGP PRIVATE KEY BLOCK'],
    token: String.raw`-----BEGIN PGP PRIVATE KEY BLOCK-----[A-Za-z0-9+/=\s\\:,.()<>@'"_-]{64,}?-----END PGP PRIVATE KEY BLOCK-----`,
    secretGroup: 0,
    entropy: null,
    maxLength: 12500,
    validator: 'pem-private-key',
    destinations: [],
    positive: ['-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nxVgEZssYHxYJKwYBBAHaRw8BAQdAwuVkOoxwtogexjY4oasU/Da6sBxgW5UtuN2H\nT1ys8CcAAQDkBc1nkQr/RWIIz7aXAbC0DmoUZz0b5fqw5Qlk2HS1tg/LzS1DSSBS\nZWxlYXNlIEJvdCA1MyA8cmVsZWFzZS01MTFAYWNtZS1jb3JwLm5ldD7CeK5XXmwJ\n5+ayC827lnSHNckYudcoPz0FXB+Q0x8HTYFezZvzj8hNR0w89FHuf5AbAtlMRRJi\nizkGaPoV/KFHelSA3WE3sPXp2eIu4AUhdFKKMbL+x321snq1qXAeY0ddn3pjRvgD\nYy6FTP6okg39thpgz6jnDP9HLw==\n=J+4E\n-----END PGP PRIVATE KEY BLOCK-----', '$ gpg --import <<EOF\n-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nxVgEZ7xoshYJKwYBBAHaRw8BAQdAkqwOVBHTVRaNp/QsDd6akbMxjkn3ncXAf5oi\nqRPN1MwAAQCin1XSKmu1C3IxwGp2WMWR/v/G/qAoUAGPzGdudmB1dBB4zS1DSSBS\nZWxlYXNlIEJvdCA4OSA8cmVsZWFzZS02MzBAYWNtZS1jb3JwLm5ldD7CmJ/HabCa\nedcEALC7wJ1Fz8ke6/49w5f6wWw5E4kX9hdPl41r6tCfol9SXid2wGpZlv9mntOK\n1CI0/pCYQUOJzWzFqQi77d54QC9aMImtp8zMExX3QE2oex8/qRyd4oz6kY1VDra3\nGZCG6Cwe5wqPcQXfs3Nu9iMuCYqf9m+G8up/8GZLRuhp8Y9pWJL923TiZ22HHe1l\nuKv3\n=Z6kA\n-----END PGP PRIVATE KEY BLOCK-----\nEOF'],
    negative: [
      '-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmDMEZQ' + 'A'.repeat(60) + '\n=abcd\n-----END PGP PUBLIC KEY BLOCK-----',
      '-----BEGIN PGP SIGNATURE-----\n\niQEzBAABCAAdFiEE' + 'B'.repeat(60) + '\n=wxyz\n-----END PGP SIGNATURE-----',
    ],
  }),
  token({
    id: 'putty-private-key',
    title: 'PuTTY private key (PPK)',
    severity: 'critical',
    keywords: ['PuTTY-User-Key-File-'],
    token: String.raw`PuTTY-User-Key-File-[23]: [A-Za-z0-9@.-]{3,40}\r?\n(?:[^\r\n]{0,200}\r?\n)+?Private-Lines: [0-9]{1,3}\r?\n(?:[A-Za-z0-9+/=]{1,64}\r?\n)+Private-MAC: [a-f0-9]{40,64}`,
    secretGroup: 0,
    entropy: null,
    maxLength: 8000,
    destinations: [],
    positive: ['PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\nComment: eddsa-key-20240617\nPublic-Lines: 2\nAAAAC3NzaC1lZDI1NTE5AAAAIMYViV6S4PtncRJ8l9DBgY3N1BKZVgvSOvdKgAl6\nolyr\nPrivate-Lines: 1\nAAAAIIOn2uBpbA4++oYdC63aLPHYkIMR+WRV9a0Z6M1nE6Ag\nPrivate-MAC: 768fed6b584bddb75b31663cff450bef00a40a1bbfd9d4216b1ed9c7b9d6eb94', '$ cat deploy.ppk\nPuTTY-User-Key-File-2: ssh-ed25519\nEncryption: none\nComment: eddsa-key-20241016\nPublic-Lines: 2\nAAAAC3NzaC1lZDI1NTE5AAAAIEZDTt1eIab8UbhWmWl1K1eVeDsqcRw1iqjHETGc\n4NNN\nPrivate-Lines: 1\nAAAAIMtL0cc6+G1JZXg4KH2LehDCXf6rg3+9u4dqxF2mub0U\nPrivate-MAC: 80c6dbe3fa8c40a5f338b3eb7676f6aba7d840e4\n'],
    negative: ['PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\nComment: docs\nPublic-Lines: 2\n<public>\n', 'Convert the key with puttygen (PuTTY-User-Key-File-2 format).'],
  }),
  token({
    id: 'age-secret-key',
    title: 'age secret key',
    severity: 'critical',
    keywords: ['AGE-SECRET-KEY-1'],
    left: LD,
    token: String.raw`AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}`,
    entropy: 3.8,
    destinations: [],
    positive: ['# created: 2024-05-14T09:12:33Z\n# public key: age1qz5r0xkxu0n8r3t6h8d2s9l4c5f6g7j8k9m0p2q3w4e5r6t7y8u9iszmf0d\nAGE-SECRET-KEY-1JQFHC5JSDWCZ63XEKHSE0UAYQ7AU3NRHVEMSK0U8UYFT0HZD2KASDJWV2H', 'SOPS_AGE_KEY=AGE-SECRET-KEY-1043N6Q97T8J5AS0MAXN543RY65XA8Z6KRR853KEWNR50DT8NNM6QK0YRTY'],
    negative: ['SOPS_AGE_KEY=AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ', 'recipient: age1qz5r0xkxu0n8r3t6h8d2s9l4c5f6g7j8k9m0p2q3w4e5r6t7y8u9iszmf0d', 'SOPS_AGE_KEY=age-secret-key-1tpl7rlwe9wrlg3q3385qu8cshf0hhgejmd2gw2skjt2vh2r2g4msr4a9fy'],
  }),
  assigned({
    id: 'wireguard-private-key',
    title: 'WireGuard private key',
    severity: 'critical',
    keywords: ['privatekey', 'private_key', 'private-key', 'wg_private', 'wg-private', 'wireguard'],
    name: String.raw`private[_-]?key|wg[_-]?private|wireguard[\w.-]{0,16}?key`,
    tail: String.raw`[\w.-]{0,16}?`,
    assign: String.raw`["']?\s{0,4}(?:=|:|\s)\s{0,4}["']?${SGR}`,
    value: String.raw`[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=`,
    right: E64,
    entropy: 4,
    destinations: [],
    positive: ['[Interface]\nAddress = 10.8.0.2/32\nPrivateKey = aFsoMf0OPS/gtKA3O8QDY9P3wSxPQaAR+ZAkI9F3zFo=\nDNS = 1.1.1.1', 'WG_PRIVATE_KEY=mFgk7Xp7xG165TQhOAhs5AhT7m/aQX1LPFkKTYRlh2w='],
    negative: [
      '[Peer]\nPublicKey = QLy12a8XAvrSU4MfDEpqiNk6Fi26TjaaSIx3KKKWcVE=\nAllowedIPs = 0.0.0.0/0',
      'PrivateKey = <base64 private key from wg genkey>',
      'PrivateKey = AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=',
    ],
  }),
  token({
    id: 'jwk-private-key',
    title: 'Private JSON Web Key (JWK with "d")',
    severity: 'critical',
    keywords: ['"kty"'],
    left: String.raw`"kty"\s*:\s*"(?:RSA|EC|OKP)"[^{}]*?"d"\s*:\s*"`,
    token: String.raw`[A-Za-z0-9_-]{40,}`,
    right: String.raw`"`,
    entropy: 4,
    maxLength: 4096,
    destinations: [],
    positive: ['{"kty":"EC","crv":"P-256","x":"9NxnpNH-sUTH0egKjVPhvRl9C6HbEXkasdk9Voh1e3E","y":"wpsL29HQVoe2uFvoeTJyFMm2pCWP5EEmLXndUfDzgNo","d":"W3zEEYr7Rle9E3pnWhJ9KflnSDS1RPVLhINZPdnR4Kg","kid":"ci-51"}', '{"keys": [{"kty":"EC","crv":"P-256","x":"S4iIFPWplDQJB7PBW357kvSmut5Lj5-Rdq_kIrooyvk","y":"jBrDD2ZweUhiqXCQTLHPKYoA3iNkGlR9WLLQkRs7Y3s","d":"kn6C78QUsLtG1I36wb32MyHalX7JdPnt681Qn__bBuQ","kid":"ci-37"}]}'],
    negative: [
      '{"kty":"EC","crv":"P-256","x":"Qm9ndXNQdWJsaWNYQ29vcmRpbmF0ZUZvclRlc3RzMDE","y":"Qm9ndXNQdWJsaWNZQ29vcmRpbmF0ZUZvclRlc3RzMDI"}',
      '{"kty":"oct","k":"' + 'A'.repeat(10) + '"}',
    ],
  }),
];
