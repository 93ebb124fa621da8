; lists.lisp — list building, higher-order functions, sorting, strings.

(define (map f l) (if (null? l) '() (cons (f (car l)) (map f (cdr l)))))
(define (filter p l)
  (cond ((null? l) '())
        ((p (car l)) (cons (car l) (filter p (cdr l))))
        (else (filter p (cdr l)))))
(define (fold f acc l) (if (null? l) acc (fold f (f acc (car l)) (cdr l))))
(define (iota n) (define (go i acc) (if (< i 0) acc (go (- i 1) (cons i acc)))) (go (- n 1) '()))
(define (reverse l) (fold (lambda (acc x) (cons x acc)) '() l))
(define (append a b) (if (null? a) b (cons (car a) (append (cdr a) b))))
(define (take l n) (if (= n 0) '() (cons (car l) (take (cdr l) (- n 1)))))
(define (length l) (fold (lambda (n x) (+ n 1)) 0 l))

(display "iota: ") (display (iota 10)) (newline)
(display "squares: ") (display (map (lambda (x) (* x x)) (iota 10))) (newline)
(display "evens: ") (display (filter (lambda (x) (= 0 (remainder x 2))) (iota 20))) (newline)
(display "sum: ") (display (fold + 0 (iota 100))) (newline)
(display "reverse: ") (display (reverse '(1 2 3 (4 5) "six" seven))) (newline)
(write (list "quoted" 'sym 42 '(a . b))) (newline)

; Merge sort on a pseudo-random list.
(define (merge a b)
  (cond ((null? a) b) ((null? b) a)
        ((< (car a) (car b)) (cons (car a) (merge (cdr a) b)))
        (else (cons (car b) (merge a (cdr b))))))
(define (split l)
  (if (or (null? l) (null? (cdr l))) (cons l '())
      (let ((rest (split (cdr (cdr l)))))
        (cons (cons (car l) (car rest)) (cons (car (cdr l)) (cdr rest))))))
(define (sort l)
  (if (or (null? l) (null? (cdr l))) l
      (let ((halves (split l))) (merge (sort (car halves)) (sort (cdr halves))))))
(define (random-list n seed)
  (if (= n 0) '()
      (cons (remainder seed 1000) (random-list (- n 1) (remainder (+ (* seed 1103515245) 12345) 2147483648)))))
(define (sorted? l) (or (null? l) (null? (cdr l)) (and (<= (car l) (car (cdr l))) (sorted? (cdr l)))))
(define data (random-list 40 42))
(define sorted (sort data))
(display "sorted: ") (display (sorted? sorted)) (display " ")
(display (length sorted)) (display " first ten ")
(display (take sorted 10))
(newline)

; Strings: built from pieces, so every piece is a fresh I8 array.
(define (join l sep)
  (fold (lambda (acc x) (if (string=? acc "") (number->string x) (string-append acc sep (number->string x)))) "" l))
(define csv (join (iota 15) ","))
(display "joined: ") (display csv) (display " length ") (display (string-length csv)) (newline)
(display "symbol name: ") (write (symbol->string 'hello-world)) (newline)

; Association lists.
(define (assq key alist) (cond ((null? alist) '()) ((eq? key (car (car alist))) (car alist)) (else (assq key (cdr alist)))))
(define table (map (lambda (i) (cons (if (= i 0) 'zero (if (= i 1) 'one 'many)) i)) (iota 3)))
(display "assq: ") (display (assq 'one table)) (newline)

; Churn: sort many short-lived lists.
(define (churn rounds ok)
  (if (= rounds 0) ok
      (churn (- rounds 1) (and ok (sorted? (sort (random-list 100 rounds)))))))
(display "sort churn: ") (display (churn (* 20 scale) t)) (newline)
