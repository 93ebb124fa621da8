; cycles.lisp — cyclic structures: live ones must survive every collection
; intact, dead ones must not confuse the collector (refcount needs its cycle
; collector for them; the output is the same either way).

(define (take l n) (if (= n 0) '() (cons (car l) (take (cdr l) (- n 1)))))
(define (last-pair l) (if (null? (cdr l)) l (last-pair (cdr l))))

; A circular list: its last pair points back to its first.
(define (make-ring . items)
  (set-cdr! (last-pair items) items)
  items)
(define ring (make-ring 1 2 3))
(collect)
(display "ring: ") (display (take ring 8)) (newline)

; A doubly linked ring of nodes (value prev next), built as vectors of
; pairs: every node is reachable from every other in both directions.
(define (node value) (list value '() '()))
(define (prev n) (car (cdr n)))
(define (next n) (car (cdr (cdr n))))
(define (set-prev! n p) (set-car! (cdr n) p))
(define (set-next! n p) (set-car! (cdr (cdr n)) p))
(define (insert-after! a b)
  (set-next! b (next a)) (set-prev! b a)
  (set-prev! (next a) b) (set-next! a b))
(define (make-dring n)
  (let ((head (node 0)))
    (set-next! head head) (set-prev! head head)
    (define (go i) (if (> i 0) (begin (insert-after! head (node i)) (go (- i 1)))))
    (go (- n 1))
    head))
(define (walk start step n)
  (if (= n 0) '() (cons (car start) (walk (step start) step (- n 1)))))
(define d (make-dring 5))
(collect)
(display "forward: ") (display (walk d next 7)) (newline)
(display "backward: ") (display (walk d prev 7)) (newline)

; A closure whose environment holds the closure itself.
(define (make-looper)
  (define (loop n acc) (if (= n 0) acc (loop (- n 1) (+ acc n))))
  loop)
(define looper (make-looper))
(collect)
(display "self-referencing closure: ") (display (looper 100 0)) (newline)

; Cyclic garbage: thousands of rings and closure cycles made and dropped;
; the live ring above must come through unchanged.
(define (churn-rings i)
  (if (> i 0)
      (begin (make-ring i (+ i 1) (+ i 2) (+ i 3))
             (make-dring 4)
             (make-looper)
             (churn-rings (- i 1)))))
(churn-rings (+ 3 (* 300 scale)))
(collect)
(display "after churn: ") (display (take ring 4)) (display " ")
(display (walk d next 6)) (display " ") (display (looper 10 0)) (newline)

; A structure that points into itself through car and cdr.
(define knot (cons 'knot '()))
(set-car! knot knot)
(set-cdr! knot knot)
(collect)
(display "knot: ") (display (eq? (car (cdr (car knot))) knot)) (newline)
