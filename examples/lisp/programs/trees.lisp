; trees.lisp — allocation-heavy: binary trees built and dropped, the
; classic GC benchmark shape, with one long-lived tree kept throughout.

(define (make-tree depth)
  (if (= depth 0) (cons '() '())
      (cons (make-tree (- depth 1)) (make-tree (- depth 1)))))
(define (count tree)
  (if (null? (car tree)) 1
      (+ 1 (count (car tree)) (count (cdr tree)))))

(define long-lived (make-tree 7))

(define (iterate depth n ok)
  (if (= n 0) ok
      (iterate depth (- n 1) (and ok (= (count (make-tree depth)) (- (* 2 (expt 2 depth)) 1))))))
(define (expt b e) (if (= e 0) 1 (* b (expt b (- e 1)))))

(define (run depth max-depth)
  (if (<= depth max-depth)
      (begin
        (display "depth ") (display depth) (display ": ")
        (display (iterate depth (+ 1 (* scale (expt 2 (- max-depth depth)))) t))
        (newline)
        (run (+ depth 2) max-depth))))
(run 3 7)
(display "long-lived tree: ") (display (count long-lived)) (newline)

; Strings churn: build many strings, keep one.
(define (build-string n acc)
  (if (= n 0) acc (build-string (- n 1) (string-append acc (number->string (remainder n 10))))))
(define (string-churn n kept)
  (if (= n 0) kept (string-churn (- n 1) (build-string 50 ""))))
(display "string: ") (display (string-churn (+ 1 (* 40 scale)) "")) (newline)
