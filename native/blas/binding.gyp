{
  'targets': [
    {
      'target_name': 'alol_blas',
      'sources': ['blas.c'],
      'defines': ['NAPI_VERSION=8'],
      'cflags': ['-std=gnu11', '-O2', '-Wall'],
      'conditions': [
        ['OS=="linux"', { 'libraries': ['-ldl', '-lpthread'] }],
      ],
    },
  ],
}
