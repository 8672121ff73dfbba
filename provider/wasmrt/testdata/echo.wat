;; echo.wasm, the smallest WASI command that echoes stdin to stdout: the
;; wasm runtime's cold-start baseline (no language runtime to start). It
;; was assembled by hand from this text (no wat2wasm on the build machine).
(module
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    (block (loop
      (i32.store (i32.const 0) (i32.const 16))      ;; iov.buf
      (i32.store (i32.const 4) (i32.const 65000))   ;; iov.len
      (drop (call $fd_read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))
      (br_if 1 (i32.eqz (i32.load (i32.const 8))))  ;; EOF
      (i32.store (i32.const 4) (i32.load (i32.const 8)))
      (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 12)))
      (br 0)))))
